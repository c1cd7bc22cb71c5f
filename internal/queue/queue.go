// Package queue is the store-backed job queue: submission, claims under
// leases, heartbeats that renew them and bring back cancels, results, and
// the reaper that puts the jobs of vanished executors back in line. Every
// executor (local slots, remote workers, Slurm) speaks to it through the
// same few calls.
package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Defaults for Config.
const (
	LeaseDefault       = 30 * time.Second
	MaxAttemptsDefault = 3
)

// Config configures a Queue.
type Config struct {
	Store       store.JobStore
	Lease       time.Duration    // how long a claim lasts without a heartbeat
	MaxAttempts int              // runs a job gets before it ends "lost"
	Now         func() time.Time // the clock; time.Now by default
	Logger      *slog.Logger
	// Fair share: past usage decays with HalfLife (default a day); an
	// hour of CPU counts like one running CPU. MaxRunning caps one
	// user's running jobs (0: no cap).
	HalfLife   time.Duration
	MaxRunning int
	// Disk, if set, lends a space reserve to cancels and deletes that
	// find the data disk full.
	Disk *diskspace.Guard
}

// HalfLifeDefault is how fast past usage is forgotten in fair share.
const HalfLifeDefault = 24 * time.Hour

// Queue coordinates jobs between the API and the executors.
type Queue struct {
	store       store.JobStore
	lease       time.Duration
	maxAttempts int
	now         func() time.Time
	log         *slog.Logger
	halfLife    time.Duration
	maxRunning  int
	disk        *diskspace.Guard
	Events      *Broker
	drains      drainSet // executors that may claim nothing (admin.go)

	mu      sync.Mutex
	work    chan struct{}           // closed when new work may be claimable
	leases  chan struct{}           // closed when a lease was granted (the reaper re-plans)
	reapAt  time.Time               // when the reaper looks next; zero while it looks or plans
	cancels map[int64]chan struct{} // closed when a job is cancelled or deleted
	stops   stopSignals             // stop early (stop.go)

	finishes finishGroup // ends of every executor, sent to the store together
}

// New returns a Queue over cfg.Store.
func New(cfg Config) *Queue {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Queue{
		store:       cfg.Store,
		lease:       cmp.Or(cfg.Lease, LeaseDefault),
		maxAttempts: cmp.Or(cfg.MaxAttempts, MaxAttemptsDefault),
		now:         now,
		halfLife:    cmp.Or(cfg.HalfLife, HalfLifeDefault),
		maxRunning:  cfg.MaxRunning,
		disk:        cfg.Disk,
		log:         cmp.Or(cfg.Logger, slog.Default()).With("component", "queue"),
		Events:      NewBroker(),
		work:        make(chan struct{}),
		leases:      make(chan struct{}),
		cancels:     map[int64]chan struct{}{},
	}
}

// Lease is how long a claim lasts without a heartbeat.
func (q *Queue) Lease() time.Duration { return q.lease }

// Get reads a job (store.ErrNotFound if there is none).
func (q *Queue) Get(ctx context.Context, id int64) (*job.Job, error) { return q.store.GetJob(ctx, id) }

// Submission is a new job as the API has checked it.
type Submission struct {
	Owner, Name, Service string
	Spec                 json.RawMessage
	CPUs, Priority       int
	Capability           []byte // hash of an anonymous job's capability
	DiskBytes            int64  // what its uploads hold
	// Notify lists who to tell when the job ends (see package notify).
	Notify []job.Target
	Groups []string // shared with these groups from the start
}

// Submit stores a new PENDING job and wakes idle executors. place, if
// not nil, puts the job's files in place under its id (see SubmitAll).
func (q *Queue) Submit(ctx context.Context, s Submission, place func(id int64) error) (*job.Job, error) {
	var each func(int, int64) error
	if place != nil {
		each = func(_ int, id int64) error { return place(id) }
	}
	js, err := q.SubmitAll(ctx, []Submission{s}, each)
	if err != nil {
		return nil, err
	}
	return js[0], nil
}

// createParams is how the store takes submission s at time now.
func (q *Queue) createParams(s Submission, now time.Time) *store.CreateJobParams {
	return &store.CreateJobParams{
		Owner: s.Owner, Name: s.Name, Service: s.Service, Spec: s.Spec,
		CPUs: s.CPUs, Priority: s.Priority, MaxAttempts: q.maxAttempts, Now: now, Capability: s.Capability,
		DiskBytes: s.DiskBytes,
		Notify:    s.Notify,
		Groups:    s.Groups,
	}
}

// SubmitAll stores new PENDING jobs in one transaction, all or none, and
// wakes idle executors.
//
// File-system work stays out of the store's single writer: if place is
// set, the ids are reserved first, place(i, id) puts the files of subs[i]
// in place under its id, outside any transaction, and only then are the
// jobs created under those ids, so a job exists only with its files.
// Recovery rule for a crash (or a failed commit) after place: the job
// directory names an id no job has, and reserved ids are never handed
// out again, so nothing adopts it; the caller removes it on a failed
// commit, and a sweep at start removes what a crash left.
func (q *Queue) SubmitAll(ctx context.Context, subs []Submission, place func(i int, id int64) error) ([]*job.Job, error) {
	now := q.now()
	ps := make([]*store.CreateJobParams, len(subs))
	for i, s := range subs {
		ps[i] = q.createParams(s, now)
	}
	if place != nil {
		first, err := q.store.ReserveJobIDs(ctx, len(ps))
		if err != nil {
			return nil, err
		}
		for i, p := range ps {
			p.ID = first + int64(i)
			if err := place(i, p.ID); err != nil {
				return nil, err
			}
		}
	}
	js, err := q.store.CreateJobs(ctx, ps)
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		q.Events.Publish(j)
	}
	q.signal(&q.work)
	return js, nil
}

// signal wakes everyone waiting on *ch and arms a fresh channel.
func (q *Queue) signal(ch *chan struct{}) {
	q.mu.Lock()
	close(*ch)
	*ch = make(chan struct{})
	q.mu.Unlock()
}

// WorkSignal returns a channel closed the next time work may have become
// claimable. Take it before claiming, so a submission between an empty
// claim and the wait is never missed.
func (q *Queue) WorkSignal() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.work
}

func (q *Queue) leaseSignal() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.leases
}

// ClaimRequest asks for work for an executor.
type ClaimRequest struct {
	Worker     string
	WorkerUser string // the identity whose token claims ("" for local slots)
	Services   []string
	FreeCPUs   int
	Max        int
	// Lease overrides the queue's lease, for executors that cannot send
	// heartbeats (the old worker protocol).
	Lease time.Duration
	// Stop, if set, ends ClaimWait's wait (with no jobs) when signalled:
	// the executor's capacity changed and it will ask again.
	Stop <-chan struct{}
}

// Claim leases up to r.Max jobs fitting r.FreeCPUs, without waiting.
func (q *Queue) Claim(ctx context.Context, r ClaimRequest) ([]*job.Job, error) {
	js, err := q.claimQuiet(ctx, r)
	if err != nil || len(js) == 0 {
		return nil, err
	}
	q.announce(js)
	return js, nil
}

// claimQuiet is Claim's store transition, announced by the caller.
// A drained worker gets none.
func (q *Queue) claimQuiet(ctx context.Context, r ClaimRequest) ([]*job.Job, error) {
	if drained, err := q.drained(ctx, r.Worker); drained || err != nil {
		return nil, err
	}
	return q.store.ClaimJobs(ctx, &store.ClaimParams{
		Worker: r.Worker, WorkerUser: r.WorkerUser, Services: r.Services, FreeCPUs: r.FreeCPUs, Max: r.Max, Lease: cmp.Or(r.Lease, q.lease), Now: q.now(),
		HalfLife: q.halfLife, MaxRunning: q.maxRunning,
	})
}

// announce tells watchers, the jobs' cancel signals and the reaper of
// jobs just claimed.
func (q *Queue) announce(js []*job.Job) {
	if len(js) == 0 {
		return
	}
	for _, j := range js {
		// Arm the job's cancel signal now: a cancel may arrive before its
		// runner first looks.
		q.CancelSignal(j.ID)
		q.Events.Publish(j)
	}
	q.leasesGranted(js)
}

// leasesGranted wakes the reaper to plan again, but only if one of the
// new leases ends before it would look anyway: leases of one length end
// in the order they are granted, so a busy queue does not have its reaper
// re-plan (a write and a read of the store) after every claim.
func (q *Queue) leasesGranted(js []*job.Job) {
	q.mu.Lock()
	wake := q.reapAt.IsZero()
	for _, j := range js {
		if j.Lease == nil || j.Lease.Expires.Before(q.reapAt) {
			wake = true
		}
	}
	if wake {
		close(q.leases)
		q.leases = make(chan struct{})
	}
	q.mu.Unlock()
}

// planReaper records when the reaper looks next (zero: it is looking).
func (q *Queue) planReaper(at time.Time) {
	q.mu.Lock()
	q.reapAt = at
	q.mu.Unlock()
}

// ClaimWait is Claim that waits, up to ctx's end, until there is work.
func (q *Queue) ClaimWait(ctx context.Context, r ClaimRequest) ([]*job.Job, error) {
	for {
		wake := q.WorkSignal()
		// The claim itself must not be cut short by the wait's deadline:
		// a half-done claim would report an error for a quiet queue.
		js, err := q.Claim(context.WithoutCancel(ctx), r)
		if err != nil || len(js) > 0 {
			return js, err
		}
		select {
		case <-wake:
		case <-r.Stop:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// Heartbeat renews a lease and records progress; it reports whether the
// job should stop because it was cancelled, or job.ErrLeaseLost.
func (q *Queue) Heartbeat(ctx context.Context, id int64, token string, p *job.Progress) (cancel bool, err error) {
	if p != nil && p.Updated.IsZero() {
		p.Updated = q.now()
	}
	cancel, updated, err := q.store.Heartbeat(ctx, &store.HeartbeatParams{ID: id, Token: token, Progress: p, Lease: q.lease, Now: q.now()})
	if updated != nil {
		q.Events.Publish(updated)
	}
	return cancel, err
}

// PublishProgress shows progress to watchers at once, between heartbeats,
// which persist it. j is the executor's copy of the job.
func (q *Queue) PublishProgress(j *job.Job, p *job.Progress) {
	snap := *j
	snap.Progress = p
	q.Events.Publish(&snap)
}

// Result is how a run ended.
type Result = lease.Result

// Finish records a job's end under its lease; job.ErrLeaseLost means the
// lease had expired and the result was refused.
func (q *Queue) Finish(ctx context.Context, id int64, token string, r Result) (*job.Job, error) {
	return q.FinishWith(ctx, id, token, r, nil)
}

// FinishWith is Finish that first runs before (to move a remote worker's
// uploaded output into place), outside the store's writer: after the
// lease is checked and before the state changes, so a stale result moves
// nothing and a slow disk holds up no other transition. If the lease is
// lost between the two (it expired in that instant), the state does not
// change and the moved output stays as that run's: a next attempt moves
// it aside under previous/ before it starts, as any attempt's output.
// If before fails, the job stays ACTIVE under its lease.
func (q *Queue) FinishWith(ctx context.Context, id int64, token string, r Result, before func() error) (*job.Job, error) {
	errs := []error{nil}
	done := q.finishAll(ctx, []Completion{{ID: id, Token: token, Result: r, Before: before}}, errs)
	if errs[0] != nil {
		return nil, errs[0]
	}
	return done[0], nil
}

// leaseHeld reports store.ErrLeaseLost unless job id is ACTIVE under token.
func (q *Queue) leaseHeld(ctx context.Context, id int64, token string) error {
	j, err := q.store.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (j.State != job.Active || j.Lease == nil || j.Lease.Token != token) {
		return store.ErrLeaseLost
	}
	return err
}

// Release hands a job back to the queue without spending an attempt.
func (q *Queue) Release(ctx context.Context, id int64, token string) error {
	j, err := q.store.ReleaseJob(ctx, id, token)
	if err != nil {
		return err
	}
	q.dropCancel(id)
	q.stops.drop(id)
	q.Events.Publish(j)
	q.signal(&q.work)
	return nil
}

// Cancel asks a job to stop: a PENDING job ends at once; an ACTIVE one is
// marked, its local runner is told now and a remote one at its next
// heartbeat.
func (q *Queue) Cancel(ctx context.Context, id int64) (*job.Job, error) {
	var j *job.Job
	err := q.retryFull(func() (err error) {
		j, err = q.store.CancelJob(ctx, id, q.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	q.fireCancel(id)
	q.Events.Publish(j)
	return j, nil
}

// Delete removes a job's record, first stopping it if it runs; watchers
// get a last snapshot marked Deleted.
func (q *Queue) Delete(ctx context.Context, id int64) error {
	last, err := q.store.GetJob(ctx, id)
	if err != nil {
		return err
	}
	err = q.retryFull(func() error {
		j, err := q.store.CancelJob(ctx, id, q.now())
		if err == nil {
			last = j
		}
		return err
	})
	if err != nil && !errors.Is(err, store.ErrFinished) {
		return err
	}
	q.fireCancel(id) // its runner's Finish, refused, drops the signal
	if err := q.retryFull(func() error { return q.store.DeleteJob(ctx, id) }); err != nil {
		return err
	}
	gone := *last
	gone.Deleted, gone.Version = true, last.Version+1
	q.Events.Publish(&gone)
	return nil
}

// retryFull runs a user's write (cancel, delete) again if the disk was
// full, having given up a space reserve (see package diskspace): those
// must work on a full disk, since they are how users free space.
func (q *Queue) retryFull(write func() error) error {
	err := write()
	if q.disk != nil && q.disk.Rescue(err) {
		err = write()
	}
	return err
}

// CancelSignal returns a channel closed when job id is cancelled or
// deleted, for executors in this process.
func (q *Queue) CancelSignal(id int64) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	ch, ok := q.cancels[id]
	if !ok {
		ch = make(chan struct{})
		q.cancels[id] = ch
	}
	return ch
}

// fireCancel closes job id's cancel signal. The closed channel stays in
// place until the job's lease ends, so a runner that looks late still
// sees it.
func (q *Queue) fireCancel(id int64) {
	q.mu.Lock()
	if ch, ok := q.cancels[id]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	q.mu.Unlock()
}

func (q *Queue) dropCancel(id int64) {
	q.mu.Lock()
	delete(q.cancels, id)
	q.mu.Unlock()
}

// ExpireLease ends one run as if its lease had expired (attempt+1, or
// ERROR "lost" past the last attempt): its executor says it lost it.
func (q *Queue) ExpireLease(ctx context.Context, id int64, token string) (*job.Job, error) {
	j, err := q.store.ExpireLease(ctx, id, token, q.now())
	if err != nil {
		return nil, err
	}
	q.requeued([]*job.Job{j}, "executor restarted")
	return j, nil
}

func (q *Queue) requeued(js []*job.Job, why string) {
	for _, j := range js {
		q.dropCancel(j.ID)
		q.log.Warn("lease ended", "job", j.ID, "why", why, "state", j.State, "attempt", j.Attempt)
		q.Events.Publish(j)
	}
	if len(js) > 0 {
		q.signal(&q.work)
	}
}
