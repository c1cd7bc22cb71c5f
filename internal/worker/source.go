// Package worker runs jobs in slots: it claims as many jobs as it has free
// CPUs, runs each under its service with heartbeats that renew the lease
// and carry progress, stops a job when it is cancelled or passes its wall
// limit, and reports how it ended. The same pool runs inside the server
// (local slots, through LocalSource) and in `bumpserve worker` (remote
// slots, over HTTP).
package worker

import (
	"context"
	"errors"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Source is where a pool gets its jobs and sends back what happened.
type Source interface {
	// Claim waits until it can lease at least one job fitting freeCPUs (or
	// ctx ends, returning none), and at most maxJobs jobs. A signal on freed means a running job
	// has freed its CPUs: a source that can give up safely returns (with
	// no jobs) so the pool asks again with more; a remote one, whose
	// answer could be lost in flight, keeps its claim short instead while
	// it has jobs running.
	Claim(ctx context.Context, freeCPUs, maxJobs int, freed <-chan struct{}) ([]*job.Job, error)
	// Heartbeat renews j's lease and records progress; it reports a cancel,
	// or store.ErrLeaseLost when the lease is gone.
	Heartbeat(ctx context.Context, j *job.Job, p *job.Progress) (cancel bool, err error)
	// Finish reports the end of j. With nextCPUs > 0 it may also lease
	// the slot's next job, of at most nextCPUs CPUs, and return it: the
	// slot goes on without a claim of its own. nil when none fits.
	Finish(ctx context.Context, j *job.Job, r queue.Result, nextCPUs int) (*job.Job, error)
	// Release hands j back unfinished (draining).
	Release(ctx context.Context, j *job.Job) error
	// Abandon drops what the source keeps for j after its lease was lost
	// or its result refused: the job was deleted, or belongs to another
	// attempt now.
	Abandon(j *job.Job)
	// Dir returns the directory j runs in, ready for a new attempt.
	Dir(ctx context.Context, j *job.Job) (jobdir.Dir, error)
	// Watch returns a channel closed when j is cancelled, for sources that
	// learn of cancels sooner than the next heartbeat; nil otherwise.
	Watch(j *job.Job) <-chan struct{}
	// Progress shows progress at once, between heartbeats (may do nothing).
	Progress(j *job.Job, p *job.Progress)
	// HeartbeatEvery is how often to renew a lease.
	HeartbeatEvery() time.Duration
}

// LocalSource feeds a pool inside the server straight from the queue,
// sharing the server's data directory.
type LocalSource struct {
	Queue    *queue.Queue
	Root     *jobdir.Root
	Name     string   // recorded as the jobs' worker
	Services []string // nil = every service
}

var _ Source = (*LocalSource)(nil)

// Claim implements Source.
func (s *LocalSource) Claim(ctx context.Context, free, maxJobs int, freed <-chan struct{}) ([]*job.Job, error) {
	// Giving up is safe here: a claim in this process is never lost. The
	// wait itself takes the signal, so none is swallowed unseen.
	return s.Queue.ClaimWait(ctx, queue.ClaimRequest{Worker: s.Name, Services: s.Services, FreeCPUs: free, Max: maxJobs, Stop: freed})
}

// Heartbeat implements Source.
func (s *LocalSource) Heartbeat(ctx context.Context, j *job.Job, p *job.Progress) (bool, error) {
	return s.Queue.Heartbeat(ctx, j.ID, j.Lease.Token, p)
}

// Finish implements Source.
func (s *LocalSource) Finish(ctx context.Context, j *job.Job, r queue.Result, nextCPUs int) (*job.Job, error) {
	if _, err := s.Queue.Finish(ctx, j.ID, j.Lease.Token, r); err != nil || nextCPUs <= 0 {
		return nil, err
	}
	js, err := s.Queue.Claim(ctx, queue.ClaimRequest{Worker: s.Name, Services: s.Services, FreeCPUs: nextCPUs, Max: 1})
	if err != nil || len(js) == 0 {
		return nil, nil // the slot is free; the pool claims for it as usual
	}
	return js[0], nil
}

// Release implements Source.
func (s *LocalSource) Release(ctx context.Context, j *job.Job) error {
	return s.Queue.Release(ctx, j.ID, j.Lease.Token)
}

// Abandon implements Source: the directory of a job deleted while it ran
// goes too (the delete may have come before the run made it); a job
// still in the store keeps its directory for its next attempt.
func (s *LocalSource) Abandon(j *job.Job) {
	if _, err := s.Queue.Get(context.Background(), j.ID); errors.Is(err, store.ErrNotFound) {
		s.Root.Remove(j.ID)
	}
}

// Dir implements Source.
func (s *LocalSource) Dir(_ context.Context, j *job.Job) (jobdir.Dir, error) {
	d := s.Root.Job(j.ID)
	return d, d.Prepare(j.Attempt)
}

// Watch implements Source.
func (s *LocalSource) Watch(j *job.Job) <-chan struct{} { return s.Queue.CancelSignal(j.ID) }

// Progress implements Source.
func (s *LocalSource) Progress(j *job.Job, p *job.Progress) { s.Queue.PublishProgress(j, p) }

// HeartbeatEvery implements Source: three chances per lease.
func (s *LocalSource) HeartbeatEvery() time.Duration { return s.Queue.Lease() / 3 }
