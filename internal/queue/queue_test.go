package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/queue/leasetest"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// newClockQueue is a queue over a fresh SQLite store, on clock.
func newClockQueue(t *testing.T, clock *leasetest.Clock, maxAttempts int) *queue.Queue {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bumpserve.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return queue.New(queue.Config{Store: st, Now: clock.Now, MaxAttempts: maxAttempts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func submit(t *testing.T, q *queue.Queue) *job.Job {
	t.Helper()
	j, err := q.Submit(context.Background(), queue.Submission{Owner: "alice", Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`), CPUs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func claimOne(t *testing.T, q *queue.Queue) *job.Job {
	t.Helper()
	js, err := q.Claim(context.Background(), queue.ClaimRequest{Worker: "ghost", FreeCPUs: 1, Max: 1})
	if err != nil || len(js) != 1 {
		t.Fatalf("claim = %v, %v", js, err)
	}
	return js[0]
}

// await waits for a snapshot of job id that satisfies ok, from sub.
func await(t *testing.T, sub *queue.Subscription, id int64, what string, ok func(*job.Job) bool) *job.Job {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-sub.Ready():
			for _, j := range sub.Take() {
				if j.ID == id && ok(j) {
					return j
				}
			}
		case <-deadline:
			t.Fatalf("no event within 10 s: %s", what)
		}
	}
}

// An executor that stops renewing its lease loses the job: it goes back
// to PENDING with attempt+1, then ends in ERROR "lost" past its last
// attempt, and a late result from an old lease is refused. The clock
// moves; nothing waits for a lease to run out.
func TestLeaseExpiryByClock(t *testing.T) {
	t.Parallel()
	clock := leasetest.NewClock()
	q := newClockQueue(t, clock, 2)
	ctx := context.Background()
	j := submit(t, q)
	first := claimOne(t, q)
	clock.Advance(q.Lease() - time.Millisecond)
	if reaped, _ := q.Reap(ctx); len(reaped) != 0 {
		t.Fatalf("reaped %d jobs before their lease ended", len(reaped))
	}
	clock.Advance(2 * time.Millisecond)
	if reaped, err := q.Reap(ctx); err != nil || len(reaped) != 1 || reaped[0].State != job.Pending || reaped[0].Attempt != 2 {
		t.Fatalf("reap after the lease = %v, %v; want the job PENDING attempt 2", reaped, err)
	}
	claimOne(t, q)
	clock.Advance(q.Lease() + time.Second)
	if reaped, err := q.Reap(ctx); err != nil || len(reaped) != 1 || reaped[0].State != job.Error || reaped[0].Reason != job.ReasonLost {
		t.Fatalf("reap past the last attempt = %v, %v; want ERROR lost", reaped, err)
	}
	if _, err := q.Finish(ctx, j.ID, first.Lease.Token, queue.Result{State: job.Complete}); !errors.Is(err, job.ErrLeaseLost) {
		t.Fatalf("late result: %v, want job.ErrLeaseLost", err)
	}
	if got, _ := q.Get(ctx, j.ID); got.State != job.Error {
		t.Errorf("late result changed the job to %s", got.State)
	}
}

// The reaper re-plans when a lease is granted and requeues every lease
// that has ended by the queue's clock, publishing the change.
func TestReaperFollowsTheClock(t *testing.T) {
	t.Parallel()
	clock := leasetest.NewClock()
	q := newClockQueue(t, clock, 3)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.RunReaper(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	sub := q.Events.Subscribe(0, "")
	defer sub.Close()

	lost := submit(t, q)
	claimOne(t, q)
	clock.Advance(q.Lease() + time.Second)
	submit(t, q)
	// A new lease wakes the reaper, which finds the old one ended; the
	// claim may take the requeued job at once (a watcher holds only the
	// latest snapshot), so either way it is on its second attempt.
	claimOne(t, q)
	await(t, sub, lost.ID, "the expired job back in line", func(j *job.Job) bool { return j.Attempt == 2 })
}

// Deleting a job publishes a last snapshot, so event streams end at once.
func TestDeletePublishes(t *testing.T) {
	t.Parallel()
	q := newClockQueue(t, leasetest.NewClock(), 3)
	ctx := context.Background()
	for _, running := range []bool{false, true} {
		j := submit(t, q)
		if running {
			claimOne(t, q)
		}
		sub := q.Events.Subscribe(j.ID, "")
		if err := q.Delete(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		await(t, sub, j.ID, "the deletion", func(j *job.Job) bool { return j.Deleted })
		sub.Close()
	}
}
