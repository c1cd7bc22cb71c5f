package server_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestGroupUsage: a group's usage is the sum of its members' real jobs'
// cpu_seconds and disk_bytes; alice, in two groups, counts in both; a
// user sees only their own groups, an admin every one; /metrics carries
// the same sums.
func TestGroupUsage(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 2, RetainInterval: 20 * time.Millisecond})
	ctx := context.Background()
	tokens := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		tokens[u] = env.User(u, store.RoleUser)
	}
	ac := env.Client(env.AdminToken)
	members := map[string][]string{"optics": {"alice", "carol"}, "bio": {"alice", "bob"}, "empty": nil}
	for g, us := range members {
		if _, err := ac.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if _, err := ac.SetGroupMember(ctx, g, u, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Real runs, each with an upload of its own size, measured once done:
	// alice two, bob and carol one each, dave (in no group) one.
	var ids []int64
	owners, uploaded := map[int64]string{}, map[int64]int64{}
	for i, u := range []string{"alice", "alice", "bob", "carol", "dave"} {
		data := filepath.Join(t.TempDir(), "data.txt")
		size := 1000 * (i + 1)
		if err := os.WriteFile(data, []byte(strings.Repeat("x", size)), 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := env.Client(tokens[u]).Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0.2}`)},
			[]client.Upload{{Name: "data.txt", Path: data}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
		owners[j.ID], uploaded[j.ID] = u, int64(size)
	}
	cpu, disk, runs, jobs := map[string]float64{}, map[string]int64{}, map[string]int{}, map[string]int{}
	for _, id := range ids {
		waitState(t, ac, id, 20*time.Second, job.Complete)
		var j *client.Job
		// Measured, its directory counts more than the upload.
		testenv.Eventually(t, 10*time.Second, fmt.Sprintf("job %d is measured", id), func() bool {
			var err error
			j, err = ac.Get(ctx, id)
			return err == nil && j.DiskBytes > uploaded[id]
		})
		if j.CPUSeconds <= 0 {
			t.Fatalf("job %d: cpu_seconds %g", id, j.CPUSeconds)
		}
		u := owners[id]
		cpu[u] += j.CPUSeconds
		disk[u] += j.DiskBytes
		runs[u]++
		jobs[u]++
	}
	sum := func(us ...string) api.GroupUsage {
		var g api.GroupUsage
		for _, u := range us {
			g.Runs += runs[u]
			g.CPUSeconds += cpu[u]
			g.Jobs += jobs[u]
			g.DiskBytes += disk[u]
		}
		return g
	}
	check := func(who string, got api.GroupUsage, want api.GroupUsage) {
		t.Helper()
		if got.Runs != want.Runs || got.Jobs != want.Jobs || got.DiskBytes != want.DiskBytes ||
			math.Abs(got.CPUSeconds-want.CPUSeconds) > 1e-6 || math.Abs(got.CPUHours-want.CPUSeconds/3600) > 1e-9 {
			t.Errorf("%s: group %s = %+v; its members' jobs: %d runs, %g CPU-seconds, %d jobs, %d bytes",
				who, got.Group, got, want.Runs, want.CPUSeconds, want.Jobs, want.DiskBytes)
		}
	}

	t.Run("an admin sees every group", func(t *testing.T) {
		u, err := ac.Usage(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Users) != 4 || len(u.Groups) != 3 {
			t.Fatalf("users %+v, groups %+v; want 4 users and 3 groups", u.Users, u.Groups)
		}
		var total, groups float64
		for _, r := range u.Users {
			total += r.CPUSeconds
		}
		for _, g := range u.Groups {
			check("admin", g, sum(members[g.Group]...))
			if strings.Join(g.Members, ",") != strings.Join(members[g.Group], ",") {
				t.Errorf("group %s members %v, want %v", g.Group, g.Members, members[g.Group])
			}
			groups += g.CPUSeconds
		}
		// alice counts twice, dave never: the groups do not add up to the users.
		if want := total + cpu["alice"] - cpu["dave"]; math.Abs(groups-want) > 1e-6 {
			t.Errorf("groups' CPU %g, want the users' %g + alice's %g - dave's %g", groups, total, cpu["alice"], cpu["dave"])
		}
	})
	t.Run("an admin narrows to a user or a group", func(t *testing.T) {
		u, err := ac.Usage(ctx, "carol", "")
		if err != nil || len(u.Users) != 1 || len(u.Groups) != 1 || u.Groups[0].Group != "optics" {
			t.Fatalf("carol's usage for an admin = %+v, %v; want carol's line and optics", u, err)
		}
		u, err = ac.UsageOf(ctx, client.UsageQuery{Group: "bio"})
		if err != nil || len(u.Groups) != 1 || len(u.Users) != 2 || u.Users[0].User != "alice" || u.Users[1].User != "bob" {
			t.Fatalf("bio's usage for an admin = %+v, %v; want bio and its members alice and bob", u, err)
		}
		check("admin, group=bio", u.Groups[0], sum("alice", "bob"))
		_, err = ac.UsageOf(ctx, client.UsageQuery{Group: "nosuch"})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusNotFound || !strings.Contains(ce.Message, `group: no group "nosuch"`) {
			t.Errorf("an admin asking for no such group: %v; want 404 naming it", err)
		}
	})
	t.Run("a user sees their own groups", func(t *testing.T) {
		alice := env.Client(tokens["alice"])
		u, err := alice.Usage(ctx, "", "")
		if err != nil || len(u.Users) != 1 || len(u.Groups) != 2 || u.Groups[0].Group != "bio" || u.Groups[1].Group != "optics" {
			t.Fatalf("alice's usage = %+v, %v; want her line, bio and optics", u, err)
		}
		check("alice", u.Groups[0], sum("alice", "bob"))
		check("alice", u.Groups[1], sum("alice", "carol"))
		u, err = env.Client(tokens["carol"]).UsageOf(ctx, client.UsageQuery{Group: "optics"})
		if err != nil || len(u.Users) != 1 || u.Users[0].User != "carol" || len(u.Groups) != 1 {
			t.Fatalf("carol's usage of optics = %+v, %v; want her own line and optics", u, err)
		}
		check("carol, group=optics", u.Groups[0], sum("alice", "carol"))
		u, err = env.Client(tokens["dave"]).Usage(ctx, "", "")
		if err != nil || len(u.Groups) != 0 || len(u.Users) != 1 {
			t.Fatalf("dave's usage = %+v, %v; want his line and no groups", u, err)
		}
		for _, q := range []client.UsageQuery{{Group: "bio"}, {Group: "nosuch"}, {User: "alice"}} {
			_, err := env.Client(tokens["carol"]).UsageOf(ctx, q)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != http.StatusForbidden || !strings.Contains(ce.Message, "only admins") {
				t.Errorf("carol asking for %+v: %v; want 403", q, err)
			}
		}
	})
	t.Run("metrics", func(t *testing.T) {
		for g, us := range members {
			want := sum(us...)
			if got := metric(t, env, fmt.Sprintf(`bumpserve_group_cpu_seconds_total{group=%q}`, g)); math.Abs(got-want.CPUSeconds) > 1e-6 {
				t.Errorf("bumpserve_group_cpu_seconds_total{group=%q} = %g, want %g", g, got, want.CPUSeconds)
			}
			if got := metric(t, env, fmt.Sprintf(`bumpserve_group_disk_bytes{group=%q}`, g)); got != float64(want.DiskBytes) {
				t.Errorf("bumpserve_group_disk_bytes{group=%q} = %g, want %d", g, got, want.DiskBytes)
			}
		}
	})
}

// TestGroupMetricsBounded: past the first 500 groups (by name), /metrics
// sums the groups under group="(other)", so label sets stay bounded.
func TestGroupMetricsBounded(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	ctx := context.Background()
	alice := env.Client(env.User("alice", store.RoleUser))
	j, err := alice.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0.1}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j = waitState(t, alice, j.ID, 20*time.Second, job.Complete)
	ac := env.Client(env.AdminToken)
	const n = 502
	for i := range n {
		if _, err := ac.CreateGroup(ctx, fmt.Sprintf("g%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// alice in the first group and in both of the last two, past the bound.
	for _, g := range []string{"g000", "g500", "g501"} {
		if _, err := ac.SetGroupMember(ctx, g, "alice", true); err != nil {
			t.Fatal(err)
		}
	}
	if got := metric(t, env, `bumpserve_group_cpu_seconds_total{group="g000"}`); math.Abs(got-j.CPUSeconds) > 1e-6 {
		t.Errorf(`g000's CPU = %g, want alice's job's %g`, got, j.CPUSeconds)
	}
	if got := metric(t, env, `bumpserve_group_cpu_seconds_total{group="(other)"}`); math.Abs(got-2*j.CPUSeconds) > 1e-6 {
		t.Errorf(`(other)'s CPU = %g, want g500's and g501's, alice's job's twice: %g`, got, 2*j.CPUSeconds)
	}
	if got := metric(t, env, `bumpserve_group_cpu_seconds_total{group="g499"}`); got != 0 {
		t.Errorf(`g499's CPU = %g, want 0 (no members)`, got)
	}
	if got := metric(t, env, `bumpserve_group_disk_bytes{group="g500"}`); got != -1 {
		t.Errorf(`g500 has a series of its own (%g); want it under (other)`, got)
	}
}
