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
	mu sync.Mutex
	m  map[int64]chan struct{}
}

func (s *stopSignals) get(id int64) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int64]chan struct{}{}
	}
	ch, ok := s.m[id]
	if !ok {
		ch = make(chan struct{})
		s.m[id] = ch
	}
	return ch
}

func (s *stopSignals) fire(id int64) {
	ch := s.get(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// asked reports whether job id was asked to stop, without making a signal
// for a job that was not.
func (s *stopSignals) asked(id int64) bool {
	s.mu.Lock()
	ch, ok := s.m[id]
	s.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (s *stopSignals) drop(id int64) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// StopSignal returns a channel closed when job id is asked to stop early,
// for a runner in this process (local slots, the Slurm executor's pool).
func (q *Queue) StopSignal(id int64) <-chan struct{} { return q.stops.get(id) }

// StopAsked reports whether job id was asked to stop early: a heartbeat
// answers it to an executor outside this process (a remote worker).
func (q *Queue) StopAsked(id int64) bool { return q.stops.asked(id) }

// Stop asks a running job to end early with what it has. The signal
// reaches runners in this process at once and a remote worker with its
// next heartbeat's answer (StopAsked). It is kept in this process only
// (see docs/checkpoint.md). A job that is not ACTIVE is ErrNotRunning.
func (q *Queue) Stop(ctx context.Context, id int64) (*job.Job, error) {
	j, err := q.store.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.State != job.Active {
		return j, ErrNotRunning
	}
	q.stops.fire(id)
	return j, nil
}
