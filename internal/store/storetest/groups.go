package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
)

// testGroups covers groups, their members and jobs shared with them:
// who a shared job reaches, what a listing of shared jobs holds, and
// that nothing is kept for a job that is gone.
func testGroups(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := b.s.CreateUser(b.ctx, u, store.RoleUser, t0); err != nil {
			t.Fatal(err)
		}
	}
	g, err := b.s.CreateGroup(b.ctx, "optics", t0)
	if err != nil || g.Name != "optics" || !g.Created.Equal(t0) || g.Members == nil {
		t.Fatalf("create group = %+v, %v", g, err)
	}
	if _, err := b.s.CreateGroup(b.ctx, "optics", t0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create group twice: %v, want ErrExists", err)
	}
	if _, err := b.s.CreateGroup(b.ctx, "bio", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{"optics", "alice"}, {"optics", "carol"}, {"optics", "carol"}, {"bio", "alice"}, {"bio", "bob"}} {
		if err := b.s.SetGroupMember(b.ctx, m[0], m[1], true); err != nil {
			t.Fatalf("add %s to %s: %v", m[1], m[0], err)
		}
	}
	if err := b.s.SetGroupMember(b.ctx, "nope", "alice", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("add to a missing group: %v, want ErrNotFound", err)
	}
	if err := b.s.SetGroupMember(b.ctx, "optics", "nobody", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("add a missing user: %v, want ErrNotFound", err)
	}
	gs, err := b.s.ListGroups(b.ctx)
	if err != nil || len(gs) != 2 || gs[0].Name != "bio" || !slices.Equal(gs[0].Members, []string{"alice", "bob"}) ||
		gs[1].Name != "optics" || !slices.Equal(gs[1].Members, []string{"alice", "carol"}) {
		t.Fatalf("list groups = %v, %v", gs, err)
	}
	if mine, err := b.s.UserGroups(b.ctx, "alice"); err != nil || !slices.Equal(mine, []string{"bio", "optics"}) {
		t.Fatalf("alice's groups = %v, %v", mine, err)
	}
	if none, err := b.s.UserGroups(b.ctx, "nobody"); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("groups of nobody = %#v, %v; want an empty list", none, err)
	}

	// Shared from the start: in the transaction that creates the job.
	shared, err := b.s.CreateJob(b.ctx, &store.CreateJobParams{Owner: "alice", Service: "sleep", Now: t0, Groups: []string{"optics"}})
	if err != nil {
		t.Fatal(err)
	}
	private := b.create("alice", "sleep", 1, 0)
	bobs := b.create("bob", "sleep", 1, 0)
	want := func(id int64, user string, ok bool) {
		t.Helper()
		got, err := b.s.SharedWith(b.ctx, id, user)
		if err != nil || got != ok {
			t.Fatalf("job %d shared with %s = %v, %v; want %v", id, user, got, err, ok)
		}
	}
	want(shared.ID, "carol", true)
	want(shared.ID, "bob", false) // bob shares a group with alice, not the one the job is shared with
	want(private.ID, "carol", false)
	if jg, err := b.s.JobGroups(b.ctx, shared.ID); err != nil || !slices.Equal(jg, []string{"optics"}) {
		t.Fatalf("groups of the shared job = %v, %v", jg, err)
	}

	// Shared later, and unshared.
	if err := b.s.ShareJob(b.ctx, private.ID, []string{"bio", "optics"}, true); err != nil {
		t.Fatal(err)
	}
	want(private.ID, "bob", true)
	want(private.ID, "carol", true)
	if err := b.s.ShareJob(b.ctx, private.ID, []string{"optics", "never-shared"}, false); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	want(private.ID, "carol", false)
	want(private.ID, "bob", true)
	if err := b.s.ShareJob(b.ctx, private.ID, []string{"nope"}, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("share with a missing group: %v, want ErrNotFound", err)
	}
	if err := b.s.ShareJob(b.ctx, 1<<40, []string{"bio"}, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("share a missing job: %v, want ErrNotFound", err)
	}

	// A listing of what is shared with a user holds only that.
	list := func(p store.ListJobsParams) []int64 {
		t.Helper()
		js, err := b.s.ListJobs(b.ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		return ids(js)
	}
	if got := list(store.ListJobsParams{SharedWith: "carol"}); !equalIDs(got, []int64{shared.ID}) {
		t.Fatalf("shared with carol: %v, want [%d]", got, shared.ID)
	}
	if got := list(store.ListJobsParams{SharedWith: "bob"}); !equalIDs(got, []int64{private.ID}) {
		t.Fatalf("shared with bob: %v, want [%d]", got, private.ID)
	}
	if got := list(store.ListJobsParams{SharedWith: "alice", Owner: "alice"}); !equalIDs(got, []int64{private.ID, shared.ID}) {
		t.Fatalf("alice's own shared jobs: %v", got)
	}
	if got := list(store.ListJobsParams{SharedWith: "carol", Owner: "bob"}); len(got) != 0 {
		t.Fatalf("bob's jobs shared with carol: %v, want none (job %d is bob's, unshared)", got, bobs.ID)
	}

	// A member taken out sees no more; a deleted job leaves no share.
	if err := b.s.SetGroupMember(b.ctx, "optics", "carol", false); err != nil {
		t.Fatal(err)
	}
	want(shared.ID, "carol", false)
	if err := b.s.SetGroupMember(b.ctx, "optics", "carol", false); err != nil {
		t.Fatalf("removing a member twice: %v", err)
	}
	if err := b.s.DeleteJob(b.ctx, private.ID); err != nil {
		t.Fatal(err)
	}
	if jg, err := b.s.JobGroups(b.ctx, private.ID); err != nil || len(jg) != 0 {
		t.Fatalf("groups of a deleted job = %v, %v", jg, err)
	}
	if got := list(store.ListJobsParams{SharedWith: "bob"}); len(got) != 0 {
		t.Fatalf("shared with bob after the delete: %v", got)
	}
}
