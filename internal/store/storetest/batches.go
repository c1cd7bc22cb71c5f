package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// testBatches: the batch methods put many transitions in one
// transaction; a creation batch is all or nothing, while heartbeats and
// finishes succeed or fail item by item.
func testBatches(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	params := func(n int) []*store.CreateJobParams {
		ps := make([]*store.CreateJobParams, n)
		for i := range ps {
			ps[i] = &store.CreateJobParams{Owner: "a", Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`), MaxAttempts: 2, Now: t0}
		}
		return ps
	}
	js, err := b.s.CreateJobs(b.ctx, params(3))
	if err != nil || len(js) != 3 || js[0].ID >= js[1].ID || js[1].ID >= js[2].ID || js[2].State != job.Pending {
		t.Fatalf("create 3 = %v, %v", js, err)
	}
	if n, err := b.s.CountQueued(b.ctx, "a"); err != nil || n != 3 {
		t.Fatalf("queued after a batch = %d, %v", n, err)
	}

	// One bad item (an id already taken) stores none of the batch.
	bad := params(3)
	bad[2].ID = js[0].ID
	if got, err := b.s.CreateJobs(b.ctx, bad); err == nil {
		t.Fatalf("batch with a duplicate id stored %v", ids(got))
	}
	if n, _ := b.s.CountQueued(b.ctx, "a"); n != 3 {
		t.Fatalf("a refused batch left %d queued, want 3", n)
	}

	claimed := b.claim("w", 3, 3, t0)
	if len(claimed) != 3 {
		t.Fatalf("claimed %d", len(claimed))
	}
	if n, _ := b.s.CountQueued(b.ctx, "a"); n != 0 {
		t.Fatalf("queued after claiming all = %d", n)
	}
	// Heartbeats: a wrong token fails its item only.
	cost := 2.0
	hb := []*store.HeartbeatParams{
		{ID: claimed[0].ID, Token: claimed[0].Lease.Token, Lease: 10 * time.Second, Now: t0.Add(time.Second)},
		{ID: claimed[1].ID, Token: "stale", Lease: 10 * time.Second, Now: t0.Add(time.Second)},
		{ID: claimed[2].ID, Token: claimed[2].Lease.Token, Lease: 10 * time.Second, Now: t0.Add(time.Second),
			Progress: &job.Progress{Step: 7, Cost: &cost}},
	}
	if _, err := b.s.CancelJob(b.ctx, claimed[2].ID, t0); err != nil {
		t.Fatal(err)
	}
	rs, err := b.s.Heartbeats(b.ctx, hb)
	if err != nil || len(rs) != 3 {
		t.Fatalf("heartbeats = %v, %v", rs, err)
	}
	if rs[0].Err != nil || rs[0].Cancel || rs[0].Job != nil {
		t.Errorf("heartbeat 0 = %+v", rs[0])
	}
	if !errors.Is(rs[1].Err, store.ErrLeaseLost) {
		t.Errorf("heartbeat with a stale token = %+v, want ErrLeaseLost", rs[1])
	}
	if rs[2].Err != nil || !rs[2].Cancel || rs[2].Job == nil || rs[2].Job.Progress.Step != 7 {
		t.Errorf("heartbeat with progress of a cancelled job = %+v", rs[2])
	}
	if got := b.get(claimed[0].ID); !got.Lease.Expires.Equal(t0.Add(11 * time.Second)) {
		t.Errorf("renewed lease ends %v", got.Lease.Expires)
	}

	// Finishes: the stale one is refused, the others end.
	fs := []*store.FinishParams{
		{ID: claimed[0].ID, Token: claimed[0].Lease.Token, State: job.Complete, Result: json.RawMessage(`{"n":0}`), Now: t0.Add(2 * time.Second)},
		{ID: claimed[1].ID, Token: "stale", State: job.Complete, Now: t0.Add(2 * time.Second)},
		{ID: claimed[2].ID, Token: claimed[2].Lease.Token, State: job.Cancel, Reason: "cancelled", Now: t0.Add(2 * time.Second)},
	}
	fr, err := b.s.FinishJobs(b.ctx, fs)
	if err != nil || len(fr) != 3 {
		t.Fatalf("finish jobs = %v, %v", fr, err)
	}
	if fr[0].Err != nil || fr[0].Job.State != job.Complete || string(fr[0].Job.Result) != `{"n":0}` {
		t.Errorf("finish 0 = %+v", fr[0])
	}
	if !errors.Is(fr[1].Err, store.ErrLeaseLost) || fr[1].Job != nil {
		t.Errorf("finish with a stale token = %+v, want ErrLeaseLost", fr[1])
	}
	if got := b.get(claimed[1].ID); got.State != job.Active {
		t.Errorf("a refused finish changed its job to %s", got.State)
	}
	if fr[2].Err != nil || fr[2].Job.State != job.Cancel {
		t.Errorf("finish 2 = %+v", fr[2])
	}
	// A state that does not end a job refuses the whole batch.
	if _, err := b.s.FinishJobs(b.ctx, []*store.FinishParams{{ID: claimed[1].ID, Token: claimed[1].Lease.Token, State: job.Pending, Now: t0}}); err == nil {
		t.Errorf("finish to PENDING accepted")
	}

	// Requeued and deleted jobs keep the queue count right.
	requeued, err := b.s.RequeueExpired(b.ctx, t0.Add(time.Hour))
	if err != nil || len(requeued) != 1 || requeued[0].State != job.Pending {
		t.Fatalf("requeue = %v, %v", requeued, err)
	}
	if n, _ := b.s.CountQueued(b.ctx, "a"); n != 1 {
		t.Errorf("queued after a requeue = %d, want 1", n)
	}
	if err := b.s.DeleteJob(b.ctx, requeued[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.s.CountQueued(b.ctx, "a"); n != 0 {
		t.Errorf("queued after deleting the pending job = %d, want 0", n)
	}
}
