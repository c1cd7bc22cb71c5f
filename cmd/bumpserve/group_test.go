package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// Groups from the command line against a running server: made on the
// data directory (as user add works) and through the API; a job shared
// at submit is read by a member, who may not cancel it but may copy it;
// another user cannot see it; unshare and --remove take it away.
func TestGroupCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := testenv.StartProc(t, "the server on "+data, binary, "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--workers", "1", "--sandbox-uids", "68300-68349")
	srv := &serverProc{Proc: p, t: t, URL: p.WaitLog(t, listening, 30*time.Second)[1], Data: data}
	stdout := func(env []string, wantCode int, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := bs(t, env, args...)
		if code != wantCode {
			t.Fatalf("bumpserve %v: exit %d (%s%s), want %d", args, code, out, errOut, wantCode)
		}
		return out, errOut
	}
	run := func(env []string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut := stdout(env, wantCode, args...)
		return out + errOut
	}
	as := map[string][]string{"admin": {"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}}
	for _, u := range []string{"alice", "carol", "bob"} {
		as[u] = []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + lastWord(run(nil, 0, "user", "add", u, "--data", data))}
	}

	// On the data directory while the server runs, and through the API.
	run(nil, 0, "group", "add", "optics", "--data", data)
	run(nil, 0, "group", "member", "optics", "alice", "--data", data)
	if out := run(nil, 2, "group", "add", "no way", "--data", data); !strings.Contains(out, "name") {
		t.Errorf("a bad group name: %q; want the field named", out)
	}
	run(nil, 2, "group", "member", "optics", "nobody", "--data", data)
	run(as["admin"], 0, "group", "member", "optics", "carol")
	run(as["bob"], 1, "group", "add", "bobs") // a user's token: 403
	var gl client.GroupList
	decodeOne(t, "group list", run(as["admin"], 0, "group", "list", "--json"), &gl)
	if len(gl.Groups) != 1 || !slices.Equal(gl.Groups[0].Members, []string{"alice", "carol"}) {
		t.Fatalf("group list = %+v", gl.Groups)
	}

	// Shared at submit; only alice's own groups.
	if out := run(as["bob"], 2, "submit", "--service", "sleep", "--spec", `{"seconds":0}`, "--share", "optics"); !strings.Contains(out, "groups") {
		t.Errorf("bob shares with a group not his: %q", out)
	}
	id, _ := stdout(as["alice"], 0, "submit", "--service", "sleep", "--spec", `{"seconds":0}`, "--share", "optics")
	id = strings.TrimSpace(id)
	run(as["alice"], 0, "wait", id)
	var j client.Job
	decodeOne(t, "show", run(as["carol"], 0, "show", id, "--json"), &j)
	if j.Owner != "alice" || !slices.Equal(j.Groups, []string{"optics"}) {
		t.Errorf("the shared job as carol sees it: %+v", j)
	}
	run(as["carol"], 0, "results", id)
	if out := run(as["carol"], 1, "delete", id); !strings.Contains(out, "read-only") {
		t.Errorf("carol deletes alice's job: %q; want it refused as read-only", out)
	}
	run(as["bob"], 1, "show", id) // 404
	var l client.JobList
	decodeOne(t, "jobs --shared", run(as["carol"], 0, "jobs", "--shared", "--json"), &l)
	if len(l.Jobs) != 1 || l.Jobs[0].Owner != "alice" {
		t.Errorf("carol's shared jobs = %+v", l.Jobs)
	}
	decodeOne(t, "jobs --shared", run(as["bob"], 0, "jobs", "--shared", "--json"), &l)
	if len(l.Jobs) != 0 {
		t.Errorf("bob's shared jobs = %+v; want none", l.Jobs)
	}

	// carol copies it as her own.
	cp, _ := stdout(as["carol"], 0, "copy", id)
	cp = strings.TrimSpace(cp)
	decodeOne(t, "show copy", run(as["carol"], 0, "show", cp, "--json"), &j)
	if j.Owner != "carol" || j.Service != "sleep" {
		t.Errorf("the copy = %+v", j)
	}

	// Unshared, then shared again and carol taken out of the group.
	if out := run(as["alice"], 0, "unshare", id, "optics"); !strings.Contains(out, "no group") {
		t.Errorf("unshare: %q", out)
	}
	run(as["carol"], 1, "show", id)
	run(as["alice"], 0, "share", id, "optics")
	run(as["carol"], 0, "show", id)
	run(as["admin"], 0, "group", "member", "optics", "carol", "--remove")
	run(as["carol"], 1, "show", id)
}
