package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
)

// A native fit saves checkpoints in its job directory, and a bumps DREAM
// run its state in the store there (packed by service.watchState), which
// on an HTTP worker is on this machine only: the next attempt of a job whose worker
// died runs on another. So the worker sends each checkpoint to the
// controller (PUT jobs/{id}/checkpoint), which keeps it in the job's
// directory there, and a claim says when a job has one (or an ended fit
// it continues) for the worker to fetch into the new job directory
// before the fit starts (docs/checkpoint.md).

// savedState is the sizes of a claimed fit's saved states on the
// controller (0: none).
type savedState struct{ checkpoint, cont int64 }

// checkpointKeeper is a source that keeps checkpoints off this machine.
type checkpointKeeper interface {
	SaveCheckpoint(ctx context.Context, j *job.Job, data []byte) error
}

// SaveCheckpoint implements checkpointKeeper.
func (s *RemoteSource) SaveCheckpoint(ctx context.Context, j *job.Job, data []byte) error {
	return s.Client.PutCheckpoint(ctx, j.ID, j.Lease.Token, data)
}

// fetchSaved puts the states the claim announced into d: the job's last
// checkpoint and the ended fit it continues. A checkpoint that cannot be
// had is only lost time (the fit starts afresh, and says so); the state a
// continuing job goes on from is the job itself.
func (s *RemoteSource) fetchSaved(j *job.Job, d jobdir.Dir) error {
	v, ok := s.saved.LoadAndDelete(j.ID)
	if !ok {
		return nil
	}
	st := v.(savedState)
	ctx, cancel := context.WithDeadline(context.Background(), j.Lease.Expires)
	defer cancel()
	for _, f := range []struct {
		size       int64
		which, rel string
	}{{st.checkpoint, "checkpoint", service.StateFile(j.Service)}, {st.cont, "continue", service.ContinueFile}} {
		if f.size <= 0 || f.rel == "" {
			continue
		}
		data, err := s.Client.JobState(ctx, j.ID, j.Lease.Token, f.which, api.CheckpointMax)
		if err == nil {
			err = jobfs.ReplaceDurable(string(d), f.rel, data, 0o600)
		}
		switch {
		case err == nil:
		case errors.Is(err, job.ErrLeaseLost) || f.rel == service.ContinueFile:
			return err
		default:
			s.Logger.Warn("the job's checkpoint could not be fetched; the fit starts afresh", "job", j.ID, "err", err)
		}
	}
	return nil
}

// uploader sends a running job's checkpoints to its source, off the
// fit's goroutine and latest first: a checkpoint that arrives while one
// is on its way replaces any not yet sent.
type uploader struct {
	keep   checkpointKeeper
	j      *job.Job
	log    *slog.Logger
	mu     sync.Mutex
	latest []byte
	kick   chan struct{}
	done   chan struct{}
}

func newUploader(keep checkpointKeeper, j *job.Job, log *slog.Logger) *uploader {
	u := &uploader{keep: keep, j: j, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go u.loop()
	return u
}

// offer is service.Env.Checkpointed.
func (u *uploader) offer(data []byte) {
	u.mu.Lock()
	u.latest = data
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default: // one is due: it takes this one
	}
}

func (u *uploader) loop() {
	defer close(u.done)
	lost := false
	for range u.kick {
		u.mu.Lock()
		data := u.latest
		u.latest = nil
		u.mu.Unlock()
		if data == nil || lost {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
		err := u.keep.SaveCheckpoint(ctx, u.j, data)
		cancel()
		switch {
		case errors.Is(err, job.ErrLeaseLost):
			lost = true
		case err != nil:
			// The next checkpoint will try again; the fit goes on.
			u.log.Warn("checkpoint not sent to the controller", "err", err)
		}
	}
}

// flush waits until the last checkpoint offered has been sent (or
// refused): the job's end, reported next, must find the controller with
// its final state, which a continuing job goes on from.
func (u *uploader) flush() {
	close(u.kick)
	<-u.done
}

// checkpointTimeout bounds one checkpoint upload.
const checkpointTimeout = 5 * time.Minute
