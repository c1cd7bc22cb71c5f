// Package lease is the executor's side of the queue's lease protocol,
// written once for every executor: a Source leases jobs that fit an
// executor's free CPUs (waiting for work), renews the leases of all its
// running jobs in one heartbeat that brings back cancels and lost leases,
// reports several ends at once and leases the next jobs in the same call,
// and hands jobs back unfinished. The local slots (queue.LocalSource) and
// HTTP workers (worker.RemoteSource) implement it; Slurm runs behind
// either, through the worker pool. The conformance suite in leasetest
// holds every Source to the same behaviour.
//
// The package imports neither the store nor the queue, so an HTTP worker
// that speaks the protocol carries no database code.
package lease

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// Result is how a run ended.
type Result struct {
	State       job.State
	Reason      string
	Result      json.RawMessage
	Protections []string
}

// Want is the room a claim may fill: jobs whose CPUs fit in CPUs, at most
// Jobs of them. The zero Want asks for nothing.
type Want struct {
	CPUs int
	Jobs int
}

// Beat is one running job's share of a heartbeat: its latest progress,
// nil when unchanged since the last one.
type Beat struct {
	Job      *job.Job
	Progress *job.Progress
}

// Verdict answers one Beat: the job was cancelled and must stop, or was
// asked to stop early (Stop: end COMPLETE with what it has, as a native
// fit does when its stop signal closes), or Err is job.ErrLeaseLost (stop
// and forget the run) or a transient failure (try again within the lease).
type Verdict struct {
	Cancel bool
	Stop   bool
	Err    error
}

// End is one finished run and how it ended.
type End struct {
	Job    *job.Job
	Result Result
}

// Source is where an executor gets its jobs and sends back what happened.
// Every method that names a job acts under the lease it was claimed with.
type Source interface {
	// Claim waits until it can lease at least one job that fits want (or
	// ctx ends, returning none). A signal on freed means running jobs have
	// freed CPUs: a source that can give up safely returns with no jobs
	// so the executor asks again with more; a remote one, whose answer
	// could be lost in flight, keeps its waits short instead while it has
	// jobs running.
	Claim(ctx context.Context, want Want, freed <-chan struct{}) ([]*job.Job, error)
	// Heartbeat renews the leases of several running jobs at once and
	// records their progress; verdicts answer beats one for one. An error
	// means the whole call failed (transient: try again within the lease).
	Heartbeat(ctx context.Context, beats []Beat) ([]Verdict, error)
	// Finish reports several ends at once; errs answers them one for one
	// (nil: recorded; job.ErrLeaseLost: refused, the lease had ended). With a
	// non-zero next it also leases jobs fitting next in the same call, so
	// a busy executor needs no claim between jobs; none when none fits.
	// An error means the whole call failed and nothing is known of it.
	Finish(ctx context.Context, ends []End, next Want) (errs []error, claimed []*job.Job, err error)
	// Release hands j back unfinished, without spending an attempt
	// (an executor that shuts down).
	Release(ctx context.Context, j *job.Job) error
	// Abandon drops what the source keeps for j after its lease was lost
	// or its result refused: the job was deleted, or belongs to another
	// attempt now.
	Abandon(j *job.Job)
	// Dir returns the directory j runs in, ready for a new attempt.
	Dir(ctx context.Context, j *job.Job) (jobdir.Dir, error)
	// Watch returns a channel closed when j is cancelled, for sources
	// that learn of cancels sooner than the next heartbeat; nil otherwise.
	Watch(j *job.Job) <-chan struct{}
	// Progress shows progress to watchers at once, between heartbeats
	// (may do nothing).
	Progress(j *job.Job, p *job.Progress)
	// HeartbeatEvery is how often a lease must be renewed: three chances
	// per lease.
	HeartbeatEvery() time.Duration
}
