package main

import (
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The admin commands against a real server: drain and resume its local
// slots, set a priority, requeue, cancel a user's jobs; refused for a
// user's token and for bad arguments; each change in the server's log.
func TestAdminCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := testenv.StartProc(t, "the server on "+data, binary, "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--workers", "1", "--name", "slots", "--sandbox-uids", "67500-67549")
	srv := &serverProc{Proc: p, t: t, URL: p.WaitLog(t, listening, 30*time.Second)[1], Data: data}
	out, errOut, code := bs(t, nil, "user", "add", "bob", "--data", data)
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	bob := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + lastWord(out)}
	admin := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	run := func(env []string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := bs(t, env, args...)
		if code != wantCode {
			t.Fatalf("bumpserve %v: exit %d (%s%s), want %d", args, code, out, errOut, wantCode)
		}
		return out + errOut
	}

	if out := run(admin, 0, "admin", "drain", "slots"); !strings.Contains(out, "worker slots drained") {
		t.Errorf("admin drain: %q", out)
	}
	var ws struct{ Workers []api.WorkerInfo }
	out, _, _ = bs(t, admin, "workers", "--json")
	decodeOne(t, "workers", out, &ws)
	if len(ws.Workers) != 1 || !ws.Workers[0].Drained {
		t.Errorf("workers after drain = %+v", ws.Workers)
	}
	if out := run(admin, 0, "workers"); !strings.Contains(out, "drained") {
		t.Errorf("workers does not show the drain:\n%s", out)
	}

	// With the only slots drained, bob's jobs wait: change them while they do.
	submit := func() string {
		t.Helper()
		out, errOut, code := bs(t, bob, "submit", "--service", "sleep", "--spec", `{"seconds":0}`)
		if code != 0 {
			t.Fatalf("submit: %d %s", code, errOut)
		}
		return strings.TrimSpace(out)
	}
	first, second := submit(), submit()
	var j client.Job
	out, _, _ = bs(t, admin, "admin", "priority", first, "9", "--json")
	decodeOne(t, "admin priority", out, &j)
	if j.Priority != 9 {
		t.Errorf("admin priority --json: %+v", j)
	}
	if out := run(admin, 0, "admin", "priority", second, "--", "-3"); !strings.Contains(out, "priority -3") {
		t.Errorf("admin priority: %q", out)
	}
	if out := run(admin, 0, "admin", "cancel-user", "bob"); !strings.Contains(out, "user bob: 2 pending jobs cancelled") {
		t.Errorf("admin cancel-user: %q", out)
	}
	if out := run(admin, 0, "admin", "requeue", first); !strings.Contains(out, "job "+first+": PENDING, attempt 2") {
		t.Errorf("admin requeue: %q", out)
	}
	if out := run(admin, 0, "admin", "resume", "slots"); !strings.Contains(out, "worker slots takes jobs") {
		t.Errorf("admin resume: %q", out)
	}
	out, _, _ = bs(t, bob, "wait", first, "--json", "--quiet")
	decodeOne(t, "wait", out, &j)
	if j.State != "COMPLETE" || j.Attempt != 2 {
		t.Errorf("the requeued job after resume: %s attempt %d", j.State, j.Attempt)
	}

	// Refusals: a user's token (exit 1, the server's 403), bad arguments
	// (exit 2, naming what is wrong), unknown names (exit 1, 404).
	for _, c := range []struct {
		env  []string
		code int
		args []string
		want string
	}{
		{bob, 1, []string{"admin", "drain", "slots"}, "admin"},
		{admin, 2, []string{"admin"}, "missing operation"},
		{admin, 2, []string{"admin", "reboot"}, `unknown operation "reboot"`},
		{admin, 2, []string{"admin", "priority", first}, "expected ID N"},
		{admin, 2, []string{"admin", "priority", first, "high"}, `N: "high"`},
		{admin, 2, []string{"admin", "priority", first, "101"}, "-100 to 100"},
		{admin, 2, []string{"admin", "priority", first, "-5"}, "goes after --"},
		{admin, 2, []string{"admin", "requeue", "x"}, `"x" is not a job id`},
		{admin, 1, []string{"admin", "drain", "nosuch"}, `no worker "nosuch"`},
		{admin, 1, []string{"admin", "cancel-user", "nosuch"}, `no user "nosuch"`},
	} {
		if out := run(c.env, c.code, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("bumpserve %v: %q does not say %q", c.args, out, c.want)
		}
	}
	for _, audit := range []string{"worker drained", "job priority set", "user's jobs cancelled", "job requeued", "worker resumed"} {
		if !strings.Contains(srv.Log(), "audit: "+audit) {
			t.Errorf("the server's log has no %q:\n%s", audit, srv.Log())
		}
	}
}
