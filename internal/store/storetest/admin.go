package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// testAdmin covers the operators' writes: drain, requeue, priority and
// cancelling all of one owner's jobs.
func testAdmin(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)

	// Drains are kept with their first time, and undone by name.
	if err := b.s.SetDrained(b.ctx, "w1", true, t0); err != nil {
		t.Fatal(err)
	}
	if err := b.s.SetDrained(b.ctx, "w1", true, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b.s.SetDrained(b.ctx, "w2", true, t0)
	if err := b.s.SetDrained(b.ctx, "w2", false, t0); err != nil {
		t.Fatal(err)
	}
	if err := b.s.SetDrained(b.ctx, "never", false, t0); err != nil {
		t.Fatalf("resuming a worker never drained: %v", err)
	}
	d, err := b.s.Drained(b.ctx)
	if err != nil || len(d) != 1 || !d["w1"].Equal(t0) {
		t.Fatalf("drained = %v, %v; want w1 since %v", d, err, t0)
	}

	// Requeue: an ERROR job gets a fresh run, with room for one more attempt.
	e := b.create("a", "sleep", 1, 0)
	c := b.claim("w", 1, 1, t0)[0]
	if _, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: e.ID, Token: c.Lease.Token, State: job.Error, Reason: "boom",
		Result: json.RawMessage(`{"x":1}`), Now: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	r, err := b.s.RequeueJob(b.ctx, e.ID, t0.Add(2*time.Second))
	if err != nil || r.State != job.Pending || r.Reason != "" || r.Attempt != 2 || r.MaxAttempts < 2 ||
		r.Started != nil || r.Finished != nil || len(r.Result) != 0 || r.Version <= c.Version {
		t.Fatalf("requeue ERROR job = %+v, %v", r, err)
	}
	// A PENDING job is left as it is.
	if again, err := b.s.RequeueJob(b.ctx, e.ID, t0); err != nil || again.Version != r.Version || again.Attempt != 2 {
		t.Fatalf("requeue PENDING job = %+v, %v", again, err)
	}
	// An ACTIVE job's holder loses its lease: its result is refused.
	c = b.claim("w", 1, 1, t0)[0]
	if c.ID != e.ID {
		t.Fatalf("claimed %d, want the requeued %d", c.ID, e.ID)
	}
	r, err = b.s.RequeueJob(b.ctx, e.ID, t0)
	if err != nil || r.State != job.Pending || r.Attempt != 3 || r.MaxAttempts != 3 || r.Lease != nil {
		t.Fatalf("requeue ACTIVE job = %+v, %v", r, err)
	}
	if _, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: e.ID, Token: c.Lease.Token, State: job.Complete, Now: t0}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("result under the requeued lease: %v, want ErrLeaseLost", err)
	}
	if _, err := b.s.RequeueJob(b.ctx, 99999, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("requeue missing: %v", err)
	}

	// Priority: live jobs only.
	p, err := b.s.SetPriority(b.ctx, e.ID, 42)
	if err != nil || p.Priority != 42 || p.Version <= r.Version {
		t.Fatalf("set priority = %+v, %v", p, err)
	}
	if got := b.get(e.ID); got.Priority != 42 {
		t.Fatalf("stored priority = %d", got.Priority)
	}
	b.s.CancelJob(b.ctx, e.ID, t0)
	if _, err := b.s.SetPriority(b.ctx, e.ID, 1); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("priority of a finished job: %v", err)
	}
	if _, err := b.s.SetPriority(b.ctx, 99999, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("priority of a missing job: %v", err)
	}

	// Cancel all of one owner's jobs: PENDING ones end, ACTIVE ones are
	// marked; other owners' and finished jobs are untouched.
	running := b.create("bob", "sleep", 1, 0)
	waiting := b.create("bob", "sleep", 1, 0)
	other := b.create("carol", "sleep", 1, 0)
	held := b.claim("w", 1, 1, t0)[0]
	if held.ID != running.ID {
		t.Fatalf("claimed %d, want %d", held.ID, running.ID)
	}
	js, err := b.s.CancelOwnerJobs(b.ctx, "bob", t0)
	if err != nil || !equalIDs(ids(js), []int64{running.ID, waiting.ID}) {
		t.Fatalf("cancel bob's jobs = %v, %v", ids(js), err)
	}
	if got := b.get(running.ID); got.State != job.Active || !got.CancelRequested {
		t.Errorf("bob's running job = %+v, want ACTIVE with a cancel requested", got)
	}
	if got := b.get(waiting.ID); got.State != job.Cancel || got.Finished == nil {
		t.Errorf("bob's pending job = %+v, want CANCEL", got)
	}
	if got := b.get(other.ID); got.State != job.Pending || got.CancelRequested {
		t.Errorf("carol's job = %+v, want untouched", got)
	}
	if js, err := b.s.CancelOwnerJobs(b.ctx, "nobody", t0); err != nil || len(js) != 0 {
		t.Fatalf("cancel nobody's jobs = %v, %v", ids(js), err)
	}
}
