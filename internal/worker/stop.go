package worker

import (
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// stopSource is a source that can ask a running job to stop early.
type stopSource interface {
	StopSignal(j *job.Job) <-chan struct{}
}

// stopSignal is j's stop-early signal: src's own, heard at once, when it
// has one (the local slots); otherwise the one its heartbeats' answers
// close (hb.early; a remote worker hears of a stop that way).
func stopSignal(src lease.Source, j *job.Job, hb *heartbeat) <-chan struct{} {
	if s, ok := src.(stopSource); ok {
		return s.StopSignal(j)
	}
	return hb.early
}
