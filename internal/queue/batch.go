package queue

import (
	"context"
	"sync"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// Batched calls of the lease protocol: an executor renews all its leases
// in one heartbeat and reports several ends (and leases its next jobs) in
// one completion. Each job's transition stays a transaction of its own;
// they are issued together so that the store's group commit takes them in
// one commit, rather than one after another.

// Beat is one lease to renew, with the job's progress (nil: unchanged).
type Beat struct {
	ID       int64
	Token    string
	Progress *job.Progress
}

// HeartbeatMany renews several leases at once; the verdicts answer the
// beats one for one (Err is job.ErrLeaseLost for a lease no longer held;
// Stop: the job was asked to stop early, and is not cancelled).
func (q *Queue) HeartbeatMany(ctx context.Context, beats []Beat) []lease.Verdict {
	out := make([]lease.Verdict, len(beats))
	each(len(beats), func(i int) {
		b := beats[i]
		out[i].Cancel, out[i].Err = q.Heartbeat(ctx, b.ID, b.Token, b.Progress)
		out[i].Stop = out[i].Err == nil && !out[i].Cancel && q.StopAsked(b.ID)
	})
	return out
}

// Completion is one run's end under its lease. Before, if set, runs in
// the transition's transaction once the lease is known valid (see
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
	finish := func() {
		each(len(cs), func(i int) {
			c := cs[i]
			_, errs[i] = q.FinishWith(ctx, c.ID, c.Token, c.Result, c.Before)
		})
	}
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

// each runs fn(0..n-1) concurrently and waits; one call runs inline.
func each(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); fn(i) }()
	}
	wg.Wait()
}
