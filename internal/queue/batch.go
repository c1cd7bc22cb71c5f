package queue

import (
	"context"
	"sync"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Batched calls of the lease protocol: an executor renews all its leases
// in one heartbeat and reports several ends (and leases its next jobs) in
// one completion. A heartbeat is one store call (store.Heartbeats); the
// ends of every executor that report while a store call is under way go
// together in the next one (finishGroup), so the store's writer runs one
// write for many ends rather than one for each. Each job still succeeds
// or fails (its lease lost) on its own.

// Beat is one lease to renew, with the job's progress (nil: unchanged).
type Beat struct {
	ID       int64
	Token    string
	Progress *job.Progress
}

// HeartbeatMany renews several leases in one store call; the verdicts
// answer the beats one for one (Err is job.ErrLeaseLost for a lease no
// longer held, or the whole call's failure; Stop: the job was asked to
// stop early, and is not cancelled).
func (q *Queue) HeartbeatMany(ctx context.Context, beats []Beat) []lease.Verdict {
	out := make([]lease.Verdict, len(beats))
	if len(beats) == 0 {
		return out
	}
	now := q.now()
	ps := make([]*store.HeartbeatParams, len(beats))
	for i, b := range beats {
		if b.Progress != nil && b.Progress.Updated.IsZero() {
			b.Progress.Updated = now
		}
		ps[i] = &store.HeartbeatParams{ID: b.ID, Token: b.Token, Progress: b.Progress, Lease: q.lease, Now: now}
	}
	rs, err := q.store.Heartbeats(ctx, ps)
	for i, b := range beats {
		if err != nil {
			out[i].Err = err
			continue
		}
		r := rs[i]
		if r.Job != nil {
			q.Events.Publish(r.Job)
		}
		out[i].Cancel, out[i].Err = r.Cancel, r.Err
		out[i].Stop = r.Err == nil && !r.Cancel && q.StopAsked(b.ID)
	}
	return out
}

// Completion is one run's end under its lease. Before, if set, runs once
// the lease is known valid and before the end is recorded (see
// FinishWith).
type Completion struct {
	ID     int64
	Token  string
	Result Result
	Before func() error
}

// Complete records several ends at once, then, if next is set, leases the
// executor's next jobs in the same call: the one finish-then-claim of
// every executor. errs answers the completions one for one (nil, or
// job.ErrLeaseLost for a result that came too late, or a failure to
// store); a failed claim only means no next jobs, since the executor then
// claims as usual.
func (q *Queue) Complete(ctx context.Context, cs []Completion, next *ClaimRequest) (errs []error, claimed []*job.Job) {
	errs = make([]error, len(cs))
	finish := func() { q.finishAll(ctx, cs, errs) }
	if next == nil || next.FreeCPUs <= 0 || next.Max <= 0 {
		finish()
		return errs, nil
	}
	var js []*job.Job
	var err error
	claim := func() { js, err = q.claimQuiet(ctx, *next) }
	if q.maxRunning > 0 {
		// Claimed after the ends are recorded, so that the room they
		// leave under a user's cap on running jobs counts.
		finish()
		claim()
	} else {
		// Issued together, the ends and the claim share one commit of
		// the store's group commit rather than wait for two.
		each(2, func(i int) { [2]func(){finish, claim}[i]() })
	}
	if err != nil {
		q.log.Warn("claim with completion", "err", err)
		return errs, nil
	}
	// Announced once the ends are: watchers never see an executor hold
	// the next jobs before it has given up the last ones.
	q.announce(js)
	return errs, js
}

// finishAll records the ends cs, answering each in errs: those with a
// Before first run it (lease checked, side by side), then every end that
// may be recorded goes to the store in one call shared with other
// executors' ends. It returns the jobs as recorded (nil where errs says
// why not).
func (q *Queue) finishAll(ctx context.Context, cs []Completion, errs []error) []*job.Job {
	done := make([]*job.Job, len(cs))
	each(len(cs), func(i int) {
		if c := cs[i]; c.Before != nil {
			if errs[i] = q.leaseHeld(ctx, c.ID, c.Token); errs[i] == nil {
				errs[i] = c.Before()
			}
		}
	})
	now := q.now()
	var ps []*store.FinishParams
	var at []int // errs[at[k]] answers ps[k]
	for i, c := range cs {
		if errs[i] != nil {
			continue
		}
		r := c.Result
		ps = append(ps, &store.FinishParams{ID: c.ID, Token: c.Token, State: r.State, Reason: r.Reason,
			Result: r.Result, Protections: r.Protections, Now: now, HalfLife: q.halfLife})
		at = append(at, i)
	}
	var rs []store.FinishResult
	var err error
	if len(ps) > 0 {
		rs, err = q.finishes.finish(ctx, q.store, ps)
	}
	for k, i := range at {
		if err != nil {
			errs[i] = err
		} else if errs[i] = rs[k].Err; errs[i] == nil {
			done[i] = rs[k].Job
			q.Events.Publish(done[i])
		}
	}
	for _, c := range cs {
		q.dropCancel(c.ID)
	}
	for _, p := range ps {
		// Whether or not the result was taken, this run is over (one
		// whose Before failed still holds its lease, and may be asked
		// to stop until it ends).
		q.stops.drop(p.ID)
	}
	return done
}

// each runs fn(0..n-1) concurrently and waits; one call runs inline, and
// nothing is started for none.
func each(n int, fn func(i int)) {
	if n <= 1 {
		if n == 1 {
			fn(0)
		}
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); fn(i) }()
	}
	wg.Wait()
}
