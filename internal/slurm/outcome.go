package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/service"
)

// outcome says how Slurm job id ended. st is its last status from squeue,
// or nil when squeue no longer lists it. The exit record decides, unless
// run-job was stopped by a signal or left none: then Slurm's state does.
func (e *Executor) outcome(ctx context.Context, env *service.Env, dir, id string, st *status) (json.RawMessage, error) {
	rec := readExit(dir, env.Job.Attempt)
	if rec == nil || rec.Signalled {
		// Slurm must explain the end (the exit code, and after MinJobAge
		// the state itself, come only from scontrol or accounting), or
		// show that it was none: a requeued job runs again.
		final, err := e.finalStatusRetry(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("Slurm job %s: %w", id, err)
		}
		if final != nil {
			if st != nil && final.Reason == "" {
				final.Reason = st.Reason
			}
			st = final
		}
		if rec == nil && (st == nil || st.State == "COMPLETED" || st.State == "FAILED") {
			rec = e.awaitExit(ctx, dir, env.Job.Attempt)
		}
		if st != nil && (rec == nil || rec.Signalled) && (active(st.State) || e.requeuedAfter(ctx, id, st)) {
			return nil, errRequeued
		}
	}
	if rec != nil {
		env.Protections = append(env.Protections, rec.Protections...)
	}
	if rec != nil && !rec.Signalled {
		fmt.Fprintf(env.Log, "Slurm job %s ended: %s\n", id, rec.State)
		if rec.State == job.Complete {
			return rec.Result, nil
		}
		return nil, errors.New(rec.Reason)
	}
	if st == nil {
		// The reason is the plain "lost" every executor gives a run that
		// vanished; the details go to the job's log.
		fmt.Fprintf(env.Log, "lost: Slurm job %s ended without an exit record and Slurm no longer knows it\n", id)
		return nil, errForgotten
	}
	fmt.Fprintf(env.Log, "%s\n", st.describe(id))
	return nil, stateError(id, st)
}

// errRequeued says Slurm put the job back in its queue (scontrol requeue,
// a node failure, preemption): the run that ended was not the job's end,
// so the executor follows the same Slurm job on.
var errRequeued = errors.New("requeued by Slurm")

// requeuedAfter says whether a job whose run-job was stopped by a signal,
// and which Slurm shows as ended in st, turns out to be on its way back:
// after `scontrol requeue` Slurm can show the run's end (FAILED, exit code
// 1) for a moment before the job is PENDING again. Ends that Slurm never
// requeues are taken at once; the others are watched for the exit grace.
func (e *Executor) requeuedAfter(ctx context.Context, id string, st *status) bool {
	switch st.State {
	case "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "DEADLINE":
		return false
	}
	return e.withinGrace(ctx, e.cfg.Poll, func() bool {
		now, err := e.finalStatus(context.WithoutCancel(ctx), id)
		return err == nil && now != nil && active(now.State)
	})
}

// stateError is the error for a job whose end only Slurm can explain.
func stateError(id string, st *status) error {
	switch st.State {
	case "CANCELLED":
		// Not by us (that would have been our ctx): someone ran scancel, or
		// an administrator or Slurm itself cancelled the job.
		return fmt.Errorf("%w: Slurm job %s was cancelled outside bumpserve", service.ErrCancelled, id)
	case "TIMEOUT":
		return fmt.Errorf("limit exceeded: wall_seconds (Slurm job %s reached its --time limit: TIMEOUT)", id)
	case "OUT_OF_MEMORY":
		return fmt.Errorf("limit exceeded: memory_mb (Slurm job %s ran out of memory: OUT_OF_MEMORY)", id)
	case "COMPLETED":
		return fmt.Errorf("Slurm job %s COMPLETED without an exit record (%s): is the job directory on a file system the compute node shares? see output/slurm.out", id, exitFile)
	}
	return fmt.Errorf("%s; see output/slurm.out", st.describe(id))
}

// finalStatusRetry is finalStatus that rides out a briefly unreachable
// slurmctld, within the exit grace.
func (e *Executor) finalStatusRetry(ctx context.Context, id string) (*status, error) {
	var st *status
	var err error
	e.withinGrace(ctx, e.cfg.Poll, func() bool {
		st, err = e.finalStatus(context.WithoutCancel(ctx), id)
		return err == nil
	})
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return st, err
}

// awaitExit waits up to the exit grace for the job's exit record, which a
// shared file system may show late.
func (e *Executor) awaitExit(ctx context.Context, dir string, attempt int) *ExitRecord {
	var rec *ExitRecord
	e.withinGrace(ctx, e.cfg.Poll/4, func() bool {
		rec = readExit(dir, attempt)
		return rec != nil
	})
	return rec
}

// withinGrace calls try, then again every interval, until it says yes or
// the exit grace has passed; it says no as well when ctx ends first.
func (e *Executor) withinGrace(ctx context.Context, every time.Duration, try func() bool) bool {
	deadline := time.Now().Add(e.cfg.ExitGrace)
	for !try() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-time.After(every):
		case <-ctx.Done():
			return false
		}
	}
	return true
}
