package worker

import (
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// stopSource is a source that can ask a running job to stop early.
type stopSource interface {
	StopSignal(j *job.Job) <-chan struct{}
}

// stopSignal is j's stop-early signal, or nil when src has none (a
// remote source: stops do not reach remote workers yet).
func stopSignal(src lease.Source, j *job.Job) <-chan struct{} {
	if s, ok := src.(stopSource); ok {
		return s.StopSignal(j)
	}
	return nil
}
