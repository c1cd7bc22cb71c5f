package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/queue/leasetest"
)

// Ends reported by many executors at once go to the store together, yet
// each gets its own answer: a late one is refused alone, the others are
// recorded, and every recorded end reaches watchers.
func TestConcurrentEndsAnsweredOneByOne(t *testing.T) {
	q := newClockQueue(t, leasetest.NewClock(), 3)
	ctx := context.Background()
	const n = 40
	var js []*job.Job
	for range n {
		submit(t, q)
	}
	for len(js) < n {
		js = append(js, claimOne(t, q))
	}
	sub := q.Events.Subscribe(0, "")
	defer sub.Close()

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, j := range js {
		token := j.Lease.Token
		if i%4 == 3 {
			token = "stale" // this end comes too late
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := []queue.Completion{{ID: j.ID, Token: token, Result: queue.Result{State: job.Complete}}}
			got, _ := q.Complete(ctx, cs, nil)
			errs[i] = got[0]
		}()
	}
	wg.Wait()
	recorded := map[int64]bool{}
	for i, j := range js {
		late := i%4 == 3
		if late != errors.Is(errs[i], job.ErrLeaseLost) || !late && errs[i] != nil {
			t.Errorf("job %d (late %v): end answered %v", j.ID, late, errs[i])
		}
		got, err := q.Get(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]job.State{false: job.Complete, true: job.Active}[late]; got.State != want {
			t.Errorf("job %d (late %v) is %s, want %s", j.ID, late, got.State, want)
		}
		if !late {
			recorded[j.ID] = true
		}
	}
	// Every recorded end reaches watchers.
	deadline := time.After(10 * time.Second)
	for len(recorded) > 0 {
		select {
		case <-sub.Ready():
			for _, j := range sub.Take() {
				if j.State == job.Complete {
					delete(recorded, j.ID)
				}
			}
		case <-deadline:
			t.Fatalf("ends never shown to watchers: jobs %v", recorded)
		}
	}
}

// One call with several ends answers each in its order.
func TestCompleteAnswersEachEndOfACall(t *testing.T) {
	q := newClockQueue(t, leasetest.NewClock(), 3)
	ctx := context.Background()
	for range 3 {
		submit(t, q)
	}
	a, b, c := claimOne(t, q), claimOne(t, q), claimOne(t, q)
	errs, _ := q.Complete(ctx, []queue.Completion{
		{ID: c.ID, Token: c.Lease.Token, Result: queue.Result{State: job.Error, Reason: "boom"}},
		{ID: a.ID, Token: "stale", Result: queue.Result{State: job.Complete}},
		{ID: b.ID, Token: b.Lease.Token, Result: queue.Result{State: job.Complete}},
	}, nil)
	if errs[0] != nil || !errors.Is(errs[1], job.ErrLeaseLost) || errs[2] != nil {
		t.Fatalf("answers = %v, want nil, lease lost, nil", errs)
	}
	for _, w := range []struct {
		id    int64
		state job.State
	}{{a.ID, job.Active}, {b.ID, job.Complete}, {c.ID, job.Error}} {
		if got, err := q.Get(ctx, w.id); err != nil || got.State != w.state {
			t.Errorf("job %d: %v, %v; want %s", w.id, got, err, w.state)
		}
	}
}
