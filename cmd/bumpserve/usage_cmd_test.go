package main

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestUsageAndKeepCommands: `bumpserve usage` reports, per user, what
// their real jobs were charged and hold; users see only their own line;
// `keep` pins and unpins a job.
func TestUsageAndKeepCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := testenv.StartProc(t, "the server on "+data, binary, "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--workers", "2", "--retain", "COMPLETE=30d,ERROR=30d,CANCEL=7d", "--user-disk-mb", "100", "--sandbox-uids", "68100-68149")
	srv := &serverProc{Proc: p, t: t, URL: p.WaitLog(t, listening, 30*time.Second)[1], Data: data}
	p.WaitLog(t, regexp.MustCompile(`retention cleaner started.* retain="COMPLETE=30d,ERROR=30d,CANCEL=7d"`), 10*time.Second)
	env := func(user string) []string {
		if user == "admin" {
			return []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
		}
		out, errOut, code := bs(t, nil, "user", "add", user, "--data", data)
		if code != 0 {
			t.Fatalf("user add %s: %d %s", user, code, errOut)
		}
		return []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + lastWord(out)}
	}
	admin, alice, bob := env("admin"), env("alice"), env("bob")
	run := func(env []string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := bs(t, env, args...)
		if code != wantCode {
			t.Fatalf("bumpserve %v: exit %d (%s%s), want %d", args, code, out, errOut, wantCode)
		}
		return out + errOut
	}
	stdout := func(env []string, args ...string) string {
		t.Helper()
		out, errOut, code := bs(t, env, args...)
		if code != 0 {
			t.Fatalf("bumpserve %v: exit %d (%s)", args, code, errOut)
		}
		return out
	}
	// Real runs: two of alice's on one CPU, one of bob's on two.
	charged := map[string]float64{}
	runs := map[string]int{}
	var first string
	for _, c := range []struct {
		env  []string
		user string
		cpus string
	}{{alice, "alice", "1"}, {alice, "alice", "1"}, {bob, "bob", "2"}} {
		out, errOut, code := bs(t, c.env, "submit", "--service", "sleep", "--cpus", c.cpus, "--spec", `{"seconds":0.3}`)
		if code != 0 {
			t.Fatalf("submit: %d %s", code, errOut)
		}
		id := strings.TrimSpace(out)
		var j client.Job
		out, errOut, code = bs(t, c.env, "wait", id, "--json")
		if code != 0 {
			t.Fatalf("wait %s: %d %s", id, code, errOut)
		}
		decodeOne(t, "wait", out, &j)
		if j.State != "COMPLETE" || j.CPUSeconds <= 0 {
			t.Fatalf("job %s: %s, cpu_seconds %g", id, j.State, j.CPUSeconds)
		}
		want := float64(j.CPUs) * j.Finished.Sub(*j.Started).Seconds()
		if math.Abs(j.CPUSeconds-want) > 1e-6 {
			t.Fatalf("job %s charged %g CPU-seconds, want cpus × run time = %g", id, j.CPUSeconds, want)
		}
		charged[c.user] += j.CPUSeconds
		runs[c.user]++
		if first == "" {
			first = id
		}
	}

	var u api.Usage
	decodeOne(t, "usage", stdout(admin, "usage", "--json"), &u)
	if len(u.Users) != 2 || u.DiskQuotaBytes != 100<<20 {
		t.Fatalf("usage for the admin = %+v, want alice and bob and a 100 MB quota", u)
	}
	for _, r := range u.Users {
		if r.Runs != runs[r.User] || math.Abs(r.CPUSeconds-charged[r.User]) > 1e-6 || math.Abs(r.CPUHours-charged[r.User]/3600) > 1e-9 {
			t.Errorf("usage of %s = %+v; its jobs were charged %g CPU-seconds in %d runs", r.User, r, charged[r.User], runs[r.User])
		}
	}
	// Per group, the sums of the members' lines: alice is in optics and
	// bio, bob in optics only, so alice counts in both.
	for _, g := range [][]string{{"optics", "alice", "bob"}, {"bio", "alice"}} {
		run(admin, 0, "group", "add", g[0], "--data", data)
		for _, m := range g[1:] {
			run(admin, 0, "group", "member", g[0], m, "--data", data)
		}
	}
	decodeOne(t, "usage", stdout(admin, "usage", "--json"), &u)
	disk := map[string]int64{}
	for _, r := range u.Users {
		disk[r.User] = r.DiskBytes
	}
	wantGroups := map[string][]string{"optics": {"alice", "bob"}, "bio": {"alice"}}
	if len(u.Groups) != 2 {
		t.Fatalf("groups for the admin = %+v, want bio and optics", u.Groups)
	}
	for _, g := range u.Groups {
		var cpu float64
		var runsIn int
		var held int64
		for _, m := range wantGroups[g.Group] {
			cpu, runsIn, held = cpu+charged[m], runsIn+runs[m], held+disk[m]
		}
		if g.Runs != runsIn || math.Abs(g.CPUSeconds-cpu) > 1e-6 || g.DiskBytes != held || strings.Join(g.Members, ",") != strings.Join(wantGroups[g.Group], ",") {
			t.Errorf("usage of group %s = %+v; its members' jobs were charged %g CPU-seconds in %d runs and hold %d bytes", g.Group, g, cpu, runsIn, held)
		}
	}
	// --group: for an admin the group's line and its members'; bob may
	// ask for his own group, not for another.
	out := run(admin, 0, "usage", "--group", "bio")
	if !strings.Contains(out, "GROUP") || !strings.Contains(out, fmt.Sprintf("%.3f", charged["alice"]/3600)) || strings.Contains(out, "bob") {
		t.Errorf("the admin's usage of bio:\n%s", out)
	}
	out = run(bob, 0, "usage")
	if !strings.Contains(out, "optics") || strings.Contains(out, "bio") || !strings.Contains(out, fmt.Sprintf("%.3f", (charged["alice"]+charged["bob"])/3600)) {
		t.Errorf("bob's usage, with his group optics:\n%s", out)
	}
	if out := run(bob, 1, "usage", "--group", "bio"); !strings.Contains(out, "only admins") || !strings.Contains(out, "optics") {
		t.Errorf("bob asking for bio's usage: %s", out)
	}
	// As a table, for one user: alice sees only herself.
	out = run(alice, 0, "usage")
	if !strings.Contains(out, fmt.Sprintf("%.3f", charged["alice"]/3600)) || !strings.Contains(out, "alice") || strings.Contains(out, "bob") ||
		!strings.Contains(out, "disk quota 100.0 MB") {
		t.Errorf("alice's usage:\n%s", out)
	}
	if out := run(alice, 1, "usage", "--user", "bob"); !strings.Contains(out, "only admins") {
		t.Errorf("alice asking for bob's usage: %s", out)
	}
	if out := run(alice, 2, "usage", "--since", "last week"); !strings.Contains(out, "since") || !strings.Contains(out, "YYYY-MM-DD") {
		t.Errorf("a bad --since: %s", out)
	}
	// A period starting tomorrow holds no runs, but the disk still counts.
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	decodeOne(t, "usage", stdout(admin, "usage", "--user", "bob", "--since", tomorrow, "--json"), &u)
	if len(u.Users) != 1 || u.Users[0].Runs != 0 || u.Users[0].CPUSeconds != 0 || u.Users[0].Jobs != 1 {
		t.Errorf("bob's usage since %s = %+v, want no runs and his one job", tomorrow, u.Users)
	}

	// keep and keep --off.
	if out := run(alice, 0, "keep", first); !strings.Contains(out, "kept") {
		t.Errorf("keep: %s", out)
	}
	var j client.Job
	decodeOne(t, "show", stdout(alice, "show", first, "--json"), &j)
	if !j.Keep {
		t.Errorf("job %s after keep: keep = false", first)
	}
	if out := run(alice, 0, "keep", "--off", first); !strings.Contains(out, "no longer kept") {
		t.Errorf("keep --off: %s", out)
	}
	decodeOne(t, "show", stdout(alice, "show", first, "--json"), &j)
	if j.Keep {
		t.Errorf("job %s after keep --off: keep = true", first)
	}
	if out := run(bob, 1, "keep", first); !strings.Contains(out, "404") {
		t.Errorf("bob keeping alice's job: %s", out)
	}
}
