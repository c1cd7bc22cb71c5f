package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// testSeries: a series parent and its held children are stored with
// their links; held jobs are never claimed; ReleaseHeld makes one
// claimable (with a new spec), EndHeld ends a held parent, and each
// works once only.
func testSeries(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	first, err := b.s.ReserveJobIDs(b.ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	spec := json.RawMessage(`{"seconds":0}`)
	ps := []*store.CreateJobParams{{ID: first, Owner: "a", Service: "sleep", Spec: spec, Now: t0, Held: true,
		Series: json.RawMessage(`{"files":["a.txt","b.txt","c.txt"],"x":"index","chain":true}`)}}
	for i := 1; i <= 3; i++ {
		ps = append(ps, &store.CreateJobParams{ID: first + int64(i), Owner: "a", Service: "sleep", Spec: spec, Now: t0,
			Parent: first, Held: i > 1})
	}
	if _, err := b.s.CreateJobs(b.ctx, ps); err != nil {
		t.Fatal(err)
	}
	parent := b.get(first)
	if parent.Series == nil || !slices.Equal(parent.Series.Files, []string{"a.txt", "b.txt", "c.txt"}) || !parent.Series.Chain || !parent.Held || parent.Parent != 0 {
		t.Fatalf("parent read back as %+v (series %+v)", parent, parent.Series)
	}
	kids, err := b.s.ListJobs(b.ctx, &store.ListJobsParams{Parent: first})
	if err != nil || !equalIDs(ids(kids), []int64{first + 1, first + 2, first + 3}) {
		t.Fatalf("children = %v, %v; want %d..%d in order", ids(kids), err, first+1, first+3)
	}
	if kids[0].Parent != first || kids[0].Held || !kids[1].Held || kids[1].Series != nil {
		t.Fatalf("children read back as %+v / %+v", kids[0], kids[1])
	}
	live, err := b.s.ListJobs(b.ctx, &store.ListJobsParams{LiveParents: true})
	if err != nil || !equalIDs(ids(live), []int64{first}) {
		t.Fatalf("live parents = %v, %v", ids(live), err)
	}

	// Only the one unheld child is claimable, however much room.
	got := b.claim("w", 10, 10, t0)
	if !equalIDs(ids(got), []int64{first + 1}) {
		t.Fatalf("claimed %v, want only %d", ids(got), first+1)
	}
	newSpec := json.RawMessage(`{"seconds":1}`)
	rel, err := b.s.ReleaseHeld(b.ctx, first+2, newSpec)
	if err != nil || rel.Held || string(rel.Spec) != string(newSpec) || rel.State != job.Pending {
		t.Fatalf("release = %+v, %v", rel, err)
	}
	if _, err := b.s.ReleaseHeld(b.ctx, first+2, nil); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("second release: %v, want ErrFinished", err)
	}
	if _, err := b.s.ReleaseHeld(b.ctx, first+999, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("release of no job: %v, want ErrNotFound", err)
	}
	if got := b.claim("w", 10, 10, t0); !equalIDs(ids(got), []int64{first + 2}) {
		t.Fatalf("claimed %v after release, want %d", ids(got), first+2)
	}
	// A held job may be cancelled like any pending one.
	if c, err := b.s.CancelJob(b.ctx, first+3, t0); err != nil || c.State != job.Cancel {
		t.Fatalf("cancel held child = %+v, %v", c, err)
	}
	end := &store.EndHeldParams{ID: first, State: job.Complete, Reason: "1 of 3 fits failed", Result: json.RawMessage(`{"rows":[]}`), Now: t0}
	ended, err := b.s.EndHeld(b.ctx, end)
	if err != nil || ended.State != job.Complete || ended.Reason != end.Reason || string(ended.Result) != `{"rows":[]}` || ended.Finished == nil || ended.Held {
		t.Fatalf("end parent = %+v, %v", ended, err)
	}
	if _, err := b.s.EndHeld(b.ctx, end); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("second end: %v, want ErrFinished", err)
	}
	if _, err := b.s.EndHeld(b.ctx, &store.EndHeldParams{ID: first + 1, State: job.Pending}); err == nil {
		t.Fatal("EndHeld to PENDING accepted")
	}
	if live, _ := b.s.ListJobs(b.ctx, &store.ListJobsParams{LiveParents: true}); len(live) != 0 {
		t.Fatalf("live parents after the end = %v", ids(live))
	}
}
