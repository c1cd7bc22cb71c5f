package queue

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Operators' writes: drain and resume an executor, requeue a job, change
// its priority, cancel all of one user's jobs. Each goes through the
// store in one transaction, is published to watchers like any other
// change, and is logged with who did it ("audit").

// drainSet caches the store's drained executors: every claim consults
// it, so it must not cost a query. It is loaded on first use and kept up
// to date by this process's own drains; on a shared store Follow drops
// it when another controller changes the list (or the feed missed
// changes), and the next claim loads it again.
type drainSet struct {
	mu     sync.Mutex
	loaded bool
	names  map[string]time.Time
}

// load fills the cache once; q.drains.mu must be held.
func (q *Queue) loadDrains(ctx context.Context) error {
	if q.drains.loaded {
		return nil
	}
	names, err := q.store.Drained(ctx)
	if err != nil {
		return err
	}
	q.drains.names, q.drains.loaded = names, true
	return nil
}

// forgetDrains drops the cached list: the store's has changed elsewhere.
func (q *Queue) forgetDrains() {
	q.drains.mu.Lock()
	defer q.drains.mu.Unlock()
	q.drains.names, q.drains.loaded = nil, false
}

// drained reports whether the named executor may claim nothing.
func (q *Queue) drained(ctx context.Context, worker string) (bool, error) {
	q.drains.mu.Lock()
	defer q.drains.mu.Unlock()
	if err := q.loadDrains(ctx); err != nil {
		return false, err
	}
	_, ok := q.drains.names[worker]
	return ok, nil
}

// IsDrained reports whether the named executor is drained (false if the
// store cannot say: a heartbeat's answer is no place for that error).
func (q *Queue) IsDrained(ctx context.Context, worker string) bool {
	ok, _ := q.drained(ctx, worker)
	return ok
}

// Drained lists the drained executors and since when.
func (q *Queue) Drained(ctx context.Context) (map[string]time.Time, error) {
	q.drains.mu.Lock()
	defer q.drains.mu.Unlock()
	if err := q.loadDrains(ctx); err != nil {
		return nil, err
	}
	return maps.Clone(q.drains.names), nil
}

// Drain stops the named executor from claiming: it finishes the jobs it
// holds (their heartbeats and results are taken as usual) and gets no
// new ones, whether local slots, a remote worker or an old worker's
// queue name, until ResumeWorker.
func (q *Queue) Drain(ctx context.Context, worker, by string) error {
	return q.setDrained(ctx, worker, true, by)
}

// ResumeWorker lets a drained executor claim again, and wakes its
// waiting claims.
func (q *Queue) ResumeWorker(ctx context.Context, worker, by string) error {
	if err := q.setDrained(ctx, worker, false, by); err != nil {
		return err
	}
	q.signal(&q.work)
	return nil
}

func (q *Queue) setDrained(ctx context.Context, worker string, drained bool, by string) error {
	q.drains.mu.Lock()
	defer q.drains.mu.Unlock()
	if err := q.loadDrains(ctx); err != nil {
		return err
	}
	now := q.now()
	if err := q.store.SetDrained(ctx, worker, drained, now); err != nil {
		return err
	}
	if drained {
		if _, ok := q.drains.names[worker]; !ok {
			q.drains.names[worker] = now
		}
		q.log.Info("audit: worker drained", "worker", worker, "by", by)
	} else {
		delete(q.drains.names, worker)
		q.log.Info("audit: worker resumed", "worker", worker, "by", by)
	}
	return nil
}

// Requeue gives a job that is not PENDING a fresh run (see
// store.AdminStore.RequeueJob). A local runner of an ACTIVE job is told
// to stop now; a remote one learns at its next heartbeat that its lease
// is gone.
func (q *Queue) Requeue(ctx context.Context, id int64, by string) (*job.Job, error) {
	was, err := q.store.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	j, err := q.store.RequeueJob(ctx, id, q.now())
	if err != nil {
		return nil, err
	}
	if was.State == job.Pending {
		return j, nil
	}
	// Stop the old run, then forget its signal, so that the next claim
	// arms a fresh one rather than handing the new run a fired one.
	q.fireCancel(id)
	q.dropCancel(id)
	q.log.Info("audit: job requeued", "job", id, "was", was.State, "attempt", j.Attempt, "by", by)
	q.Events.Publish(j)
	q.signal(&q.work)
	return j, nil
}

// SetPriority changes a live job's priority.
func (q *Queue) SetPriority(ctx context.Context, id int64, priority int, by string) (*job.Job, error) {
	j, err := q.store.SetPriority(ctx, id, priority)
	if err != nil {
		return nil, err
	}
	q.log.Info("audit: job priority set", "job", id, "priority", priority, "by", by)
	q.Events.Publish(j)
	return j, nil
}

// CancelOwner cancels every live job of owner, as Cancel does each, and
// returns them as changed.
func (q *Queue) CancelOwner(ctx context.Context, owner, by string) ([]*job.Job, error) {
	var js []*job.Job
	err := q.retryFull(func() (err error) {
		js, err = q.store.CancelOwnerJobs(ctx, owner, q.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		q.fireCancel(j.ID)
		q.Events.Publish(j)
	}
	q.log.Info("audit: user's jobs cancelled", "user", owner, "jobs", len(js), "by", by)
	return js, nil
}
