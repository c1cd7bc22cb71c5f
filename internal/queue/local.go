package queue

import (
	"context"
	"errors"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
	"github.com/bumpserve/bumpserve/internal/store"
)

// LocalSource is the lease protocol for slots inside the server: it calls
// the queue directly and shares the server's data directory.
type LocalSource struct {
	Queue    *Queue
	Root     *jobdir.Root
	Name     string   // recorded as the jobs' worker
	Services []string // nil = every service
}

var _ lease.Source = (*LocalSource)(nil)

func (s *LocalSource) claimRequest(w lease.Want) ClaimRequest {
	return ClaimRequest{Worker: s.Name, Services: s.Services, FreeCPUs: w.CPUs, Max: w.Jobs}
}

// Claim implements lease.Source.
func (s *LocalSource) Claim(ctx context.Context, want lease.Want, freed <-chan struct{}) ([]*job.Job, error) {
	// Giving up is safe here: a claim in this process is never lost. The
	// wait itself takes the signal, so none is swallowed unseen.
	r := s.claimRequest(want)
	r.Stop = freed
	return s.Queue.ClaimWait(ctx, r)
}

// Heartbeat implements lease.Source.
func (s *LocalSource) Heartbeat(ctx context.Context, beats []lease.Beat) ([]lease.Verdict, error) {
	bs := make([]Beat, len(beats))
	for i, b := range beats {
		bs[i] = Beat{ID: b.Job.ID, Token: b.Job.Lease.Token, Progress: b.Progress}
	}
	return s.Queue.HeartbeatMany(ctx, bs), nil
}

// Finish implements lease.Source.
func (s *LocalSource) Finish(ctx context.Context, ends []lease.End, next lease.Want) ([]error, []*job.Job, error) {
	cs := make([]Completion, len(ends))
	for i, e := range ends {
		cs[i] = Completion{ID: e.Job.ID, Token: e.Job.Lease.Token, Result: e.Result}
	}
	var r *ClaimRequest
	if next.CPUs > 0 && next.Jobs > 0 {
		cr := s.claimRequest(next)
		r = &cr
	}
	errs, claimed := s.Queue.Complete(ctx, cs, r)
	return errs, claimed, nil
}

// Release implements lease.Source.
func (s *LocalSource) Release(ctx context.Context, j *job.Job) error {
	return s.Queue.Release(ctx, j.ID, j.Lease.Token)
}

// Abandon implements lease.Source: the directory of a job deleted while
// it ran goes too (the delete may have come before the run made it); a
// job still in the store keeps its directory for its next attempt.
func (s *LocalSource) Abandon(j *job.Job) {
	if _, err := s.Queue.Get(context.Background(), j.ID); errors.Is(err, store.ErrNotFound) {
		s.Root.Remove(j.ID)
	}
}

// Dir implements lease.Source.
func (s *LocalSource) Dir(_ context.Context, j *job.Job) (jobdir.Dir, error) {
	d := s.Root.Job(j.ID)
	return d, d.Prepare(j.Attempt)
}

// Watch implements lease.Source: a cancel reaches a local run at once.
func (s *LocalSource) Watch(j *job.Job) <-chan struct{} { return s.Queue.CancelSignal(j.ID) }

// StopSignal returns a channel closed when j is asked to stop early (the
// pool finds it through an optional interface: remote sources have none).
func (s *LocalSource) StopSignal(j *job.Job) <-chan struct{} { return s.Queue.StopSignal(j.ID) }

// Progress implements lease.Source.
func (s *LocalSource) Progress(j *job.Job, p *job.Progress) { s.Queue.PublishProgress(j, p) }

// HeartbeatEvery implements lease.Source: three chances per lease.
func (s *LocalSource) HeartbeatEvery() time.Duration { return s.Queue.Lease() / 3 }
