package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
	"github.com/bumpserve/bumpserve/internal/service"
)

// Why a run stopped before its service returned, as context causes.
var (
	errCancelled = errors.New("cancelled")
	errLeaseLost = fmt.Errorf("stopped: %w", job.ErrLeaseLost)
	errDrained   = errors.New("handed back: the executor shut down")
	// errShortAnswer is a source's answer that does not match its call.
	errShortAnswer = errors.New("source answered a different number of ends than reported")
)

// wallClockOwner is an Executor that starts a job's wall clock itself,
// when the job really starts (after waiting in a batch system's queue),
// and stops the job with an error naming wall_seconds when it runs out.
type wallClockOwner interface{ OwnsWallClock() bool }

// limitError is the cause of a run stopped by one of its limits.
type limitError struct {
	limit string
	value string
}

func (e *limitError) Error() string {
	return fmt.Sprintf("limit exceeded: %s (%s)", e.limit, e.value)
}

// reasonDiskFull ends a job whose result the controller had no room for.
const reasonDiskFull = "disk full: the job's result could not be stored"

// run takes one claimed job to its end and returns the next job its
// completion brought for the same CPUs, if any.
func (p *Pool) run(j *job.Job) *job.Job {
	log := p.log.With("job", j.ID, "attempt", j.Attempt)
	src := p.cfg.Source
	var res *lease.Result
	if guard.Call(log, "job run", func() error { res = p.execute(j, log); return nil }) != nil {
		// Not requeued: it would only panic again on the next attempt.
		res = &lease.Result{State: job.Error, Reason: guard.ErrInternal.Error()}
	}
	switch {
	case res == nil:
		log.Warn("job handed back unfinished: the executor shut down")
		return nil
	case res.State == "":
		log.Warn("job abandoned: its lease was lost")
		src.Abandon(j)
		return nil
	}
	// Deliver the result, retrying transient failures until the lease
	// would have ended: past that the queue has given the job to another.
	deadline := time.Now().Add(src.HeartbeatEvery() * 3)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
		next, err := p.finish(ctx, j, *res)
		cancel()
		switch {
		case err == nil:
			log.Info("job finished", "state", res.State, "reason", res.Reason)
			return next
		case errors.Is(err, job.ErrLeaseLost):
			log.Warn("result refused: lease lost")
			src.Abandon(j)
			return nil
		case time.Now().After(deadline):
			log.Error("result not delivered", "err", err)
			return nil
		case diskspace.IsFull(err) && res.Reason != reasonDiskFull:
			// The controller's disk cannot take this result: end the
			// job with a small one saying so, rather than leave it
			// ACTIVE to be run again onto the same full disk.
			res = &lease.Result{State: job.Error, Reason: reasonDiskFull, Protections: res.Protections}
		}
		log.Warn("deliver result; retrying", "err", err)
		time.Sleep(time.Second)
	}
}

// execute runs the service and says how the job ended: nil when it was
// handed back unfinished (draining), a Result without a State when its
// lease was lost (nothing to report: the job is no longer ours).
func (p *Pool) execute(j *job.Job, log *slog.Logger) *lease.Result {
	src := p.cfg.Source
	fail := func(format string, a ...any) *lease.Result {
		return &lease.Result{State: job.Error, Reason: fmt.Sprintf(format, a...)}
	}
	svc, err := p.cfg.Services.Lookup(j.Service)
	if err != nil {
		return fail("%v", err)
	}
	limits, cpus, err := job.ReadEnvelope(j.Spec, p.cfg.Caps, 0)
	if err != nil {
		return fail("%v", err)
	}
	dir, resumed := jobdir.Dir(""), false
	if d, ok := p.resumed.LoadAndDelete(j.ID); ok {
		dir, resumed = d.(jobdir.Dir), true
	} else if dir, err = src.Dir(context.Background(), j); err != nil {
		return fail("prepare job directory: %v", err)
	}
	// The log is in the job directory, out of the job's reach, while
	// the job runs, and moves to output/ once its processes are dead.
	logFile, err := dir.OpenLog()
	if err != nil {
		return fail("open job log: %v", err)
	}
	defer logFile.Close()
	defer jobfs.RemoveAll(string(dir), "tmp")
	if resumed {
		fmt.Fprintf(logFile, "job %d attempt %d taken up again on %s after a restart\n", j.ID, j.Attempt, p.cfg.Name)
	} else {
		fmt.Fprintf(logFile, "job %d attempt %d on %s: %s\n", j.ID, j.Attempt, p.cfg.Name, j.Service)
	}

	ctx, stop := context.WithCancelCause(p.stop)
	defer stop(nil)
	if wo, ok := p.cfg.Executor.(wallClockOwner); !ok || !wo.OwnsWallClock() {
		var cancelWall context.CancelFunc
		ctx, cancelWall = context.WithTimeoutCause(ctx, limits.Wall(),
			&limitError{"wall_seconds", fmt.Sprintf("%g s", limits.WallSeconds)})
		defer cancelWall()
	}

	hb, endBeats := p.beats.add(j, stop)
	defer endBeats()
	if watch := src.Watch(j); watch != nil { // a cancel heard before the next heartbeat
		go func() {
			select {
			case <-watch:
				stop(errCancelled)
			case <-ctx.Done(): // the run is over: stop(nil) below at the latest
			}
		}()
	}

	env := &service.Env{
		Job: j, Spec: j.Spec, Input: dir.Input(), Output: dir.Output(), Temp: dir.Temp(),
		CPUs: cpus, Limits: limits, PIDFile: filepath.Join(string(dir), "proc.json"),
		Progress: hb.report, Log: io.Writer(logFile), Runner: p.cfg.Runner, Stop: stopSignal(src, j, hb),
	}
	sent := func() {}
	if keep, ok := src.(checkpointKeeper); ok && service.StateFile(j.Service) != "" {
		up := newUploader(keep, j, log)
		env.Checkpointed, sent = up.offer, sync.OnceFunc(up.flush)
		defer sent()
	}
	log.Info("job started", "service", j.Service)
	result, err := p.runService(ctx, svc, env)
	// The fit's last state reaches the controller before the job is
	// handed back or its end reported.
	sent()
	cause := context.Cause(ctx)
	stop(nil)
	endBeats()

	if errors.Is(cause, errDrained) {
		fmt.Fprintln(logFile, "stopped: handed back while the executor shut down")
		if err := src.Release(context.Background(), j); err != nil {
			log.Info("hand back", "err", err)
		}
		return nil
	}
	res := outcome(cause, err, logFile)
	res.Reason = dir.Hide(res.Reason)
	res.Protections = env.Protections
	if res.State == job.Complete {
		res.Result = result
	}
	if err := dir.PublishLog(); err != nil && res.State != "" {
		// The job left something named job.log in output/: it is not
		// replaced, and the job fails for it.
		fmt.Fprintln(logFile, "failed:", err)
		res = &lease.Result{State: job.Error, Reason: err.Error(), Protections: res.Protections}
	}
	return res
}

// outcome says how a run ended from why its context ended (cause) and
// what its service returned (err), noting it in the job log. No State
// means the lease was lost.
func outcome(cause, err error, logFile io.Writer) *lease.Result {
	var lim *limitError
	switch {
	case errors.Is(cause, errLeaseLost):
		fmt.Fprintln(logFile, "stopped: the lease was lost")
		return &lease.Result{} // no state: nothing to report
	case errors.Is(cause, guard.ErrInternal):
		fmt.Fprintln(logFile, "failed: internal error")
		return &lease.Result{State: job.Error, Reason: guard.ErrInternal.Error()}
	case errors.Is(cause, errCancelled):
		fmt.Fprintln(logFile, "stopped: cancelled")
		return &lease.Result{State: job.Cancel, Reason: "cancelled while running"}
	case errors.As(cause, &lim):
		fmt.Fprintln(logFile, "stopped:", lim)
		return &lease.Result{State: job.Error, Reason: lim.Error()}
	case errors.Is(err, service.ErrCancelled):
		fmt.Fprintln(logFile, "stopped:", err)
		return &lease.Result{State: job.Cancel, Reason: err.Error()}
	case err != nil:
		fmt.Fprintln(logFile, "failed:", err)
		return &lease.Result{State: job.Error, Reason: err.Error()}
	}
	fmt.Fprintln(logFile, "complete")
	return &lease.Result{State: job.Complete}
}
