package store

import (
	"context"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// AdminStore holds what operators change by hand: drained workers, and
// jobs requeued, re-prioritised or cancelled in bulk.
type AdminStore interface {
	// SetDrained records that the named executor takes no new jobs
	// (drained) or takes them again (not drained). Draining a drained
	// worker keeps its first time.
	SetDrained(ctx context.Context, worker string, drained bool, now time.Time) error
	// Drained lists the drained executors with the time each was drained.
	Drained(ctx context.Context) (map[string]time.Time, error)
	// RequeueJob gives a job that is not PENDING a fresh run: PENDING
	// with attempt+1 (and at least that many attempts allowed), reason,
	// result, progress, times and any lease cleared. The holder of an
	// ACTIVE job's lease loses it. ErrNotFound for no such job; a
	// PENDING job is returned unchanged.
	RequeueJob(ctx context.Context, id int64, now time.Time) (*job.Job, error)
	// SetPriority changes a live (PENDING or ACTIVE) job's priority;
	// ErrFinished for a terminal job, ErrNotFound for none.
	SetPriority(ctx context.Context, id int64, priority int) (*job.Job, error)
	// CancelOwnerJobs cancels every live job of owner in one
	// transaction, as CancelJob does each, and returns them as changed.
	CancelOwnerJobs(ctx context.Context, owner string, now time.Time) ([]*job.Job, error)
}
