package queue

import (
	"context"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// reaperIdle is how long the reaper sleeps when no lease is held; a new
// lease wakes it sooner.
const reaperIdle = time.Minute

// reaperRetry is the first pause after a failed requeue; it doubles with
// each failure in a row.
const reaperRetry = 100 * time.Millisecond

// RunReaper requeues jobs whose leases expired until ctx ends. It sleeps
// until the earliest lease end (re-planning whenever a lease is granted
// that ends sooner), so expiry is noticed within milliseconds of a
// lease's end rather than at the next tick of a poll.
func (q *Queue) RunReaper(ctx context.Context) {
	failures := 0
	defer q.planReaper(time.Time{})
	for {
		// Any lease granted from now until the plan is made wakes it.
		q.planReaper(time.Time{})
		wake := q.leaseSignal()
		_, err := q.Reap(ctx)
		if err != nil && ctx.Err() == nil {
			q.log.Error("requeue expired leases", "err", err)
		}

		wait := reaperIdle
		if err != nil {
			// The expired leases are still there: retrying at once would
			// spin (a full disk fails every write). Back off, up to the
			// idle pause.
			failures++
			wait = min(reaperRetry<<min(failures-1, 10), reaperIdle)
		} else {
			failures = 0
			if next, ok, err := q.store.NextLeaseExpiry(ctx); err == nil && ok {
				// Wake just after the end, so that the lease is strictly past.
				wait = min(max(next.Sub(q.now())+time.Millisecond, time.Millisecond), reaperIdle)
			}
		}
		q.planReaper(q.now().Add(wait))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-wake:
			timer.Stop()
		}
	}
}

// Reap requeues, once, every job whose lease ended by the queue's clock
// (back to PENDING with attempt+1, or ERROR "lost" past its attempts), and
// returns them. RunReaper calls it whenever a lease may have ended; tests
// that drive Config.Now call it after moving the clock.
func (q *Queue) Reap(ctx context.Context) ([]*job.Job, error) {
	js, err := q.store.RequeueExpired(ctx, q.now())
	q.requeued(js, "lease expired")
	return js, err
}
