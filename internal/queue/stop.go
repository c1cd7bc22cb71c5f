package queue

import (
	"context"
	"errors"
	"sync"

	"github.com/bumpserve/bumpserve/internal/job"
)

// ErrNotRunning is returned by Stop for a job that is not ACTIVE.
var ErrNotRunning = errors.New("job is not running")

// stopSignals are the stop-early signals of jobs run in this process:
// unlike a cancel, a stop is not recorded in the store; the job ends
// COMPLETE with what it found, through its normal Finish.
type stopSignals struct {
	mu        sync.Mutex
	m         map[int64]chan struct{}
	listening map[int64]bool // a runner in this process waits on it
}

func (s *stopSignals) get(id int64, listen bool) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m, s.listening = map[int64]chan struct{}{}, map[int64]bool{}
	}
	ch, ok := s.m[id]
	if !ok {
		ch = make(chan struct{})
		s.m[id] = ch
	}
	s.listening[id] = s.listening[id] || listen
	return ch
}

// fire closes id's signal and reports whether a runner here listens.
func (s *stopSignals) fire(id int64) bool {
	ch := s.get(id, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
	return s.listening[id]
}

func (s *stopSignals) drop(id int64) {
	s.mu.Lock()
	delete(s.m, id)
	delete(s.listening, id)
	s.mu.Unlock()
}

// StopSignal returns a channel closed when job id is asked to stop early,
// for a runner in this process; it marks the job as listened to.
func (q *Queue) StopSignal(id int64) <-chan struct{} { return q.stops.get(id, true) }

// Stop asks a running job to end early with what it has. It reports
// whether a runner in this process took the signal (local slots, and the
// Slurm executor); a job held by a remote worker is not reached by it.
// A job that is not ACTIVE is ErrNotRunning.
func (q *Queue) Stop(ctx context.Context, id int64) (j *job.Job, local bool, err error) {
	j, err = q.store.GetJob(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if j.State != job.Active {
		return j, false, ErrNotRunning
	}
	return j, q.stops.fire(id), nil
}
