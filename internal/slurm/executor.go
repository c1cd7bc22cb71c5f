// Package slurm runs bumpserve jobs through a Slurm batch cluster. The
// Executor submits each job with sbatch under the name bumpserve-<id>; the
// batch script runs `bumpserve run-job` on a compute node against the job
// directory on a shared file system, which leaves progress and an exit
// record there. One tracker per executor follows all its jobs with a
// single squeue call per cycle and falls back to scontrol and sacct once a
// job has left the queue, so that no job stays ACTIVE after Slurm is done
// with it: a job Slurm has forgotten with no exit record is "lost".
package slurm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/worker"
)

// Options are the sbatch settings for a job; Config.Options are the
// service-wide defaults and Config.Services may override them per service.
type Options struct {
	Partition string
	Account   string
	// Time caps --time; a job's wall limit may lower it (0: from the
	// wall limit alone).
	Time time.Duration
	// MemoryMB caps --mem; a job's memory_mb may lower it. 0: no --mem at
	// all, leaving memory to the site's defaults.
	MemoryMB int64
	// Extra are more sbatch arguments ("--qos=short", "--constraint=avx2"),
	// given after the others so that they win.
	Extra []string
}

// How a job that Slurm has forgotten without an exit record ends.
const (
	ForgottenError   = "error"   // ERROR "lost"
	ForgottenRequeue = "requeue" // submitted again, up to MaxResubmits times
)

// Accounting says where the final state of a job that slurmctld no longer
// remembers is looked up.
const (
	AccountingAuto = ""     // sacct, then sacct -c (the job completion log)
	AccountingNone = "none" // nowhere: such a job is judged by its exit record alone
)

// Config configures an Executor. Zero values take the defaults.
type Config struct {
	Options
	// Services overrides Options for jobs of a service, field by field.
	Services map[string]Options
	// Bin is the bumpserve binary as compute nodes see it (default: this
	// process's executable, which suits a shared install path).
	Bin string
	// Forgotten is ForgottenError (default) or ForgottenRequeue.
	Forgotten    string
	MaxResubmits int // for ForgottenRequeue; default 2
	Accounting   string
	// Poll is the tracker's cycle (default 1 s).
	Poll time.Duration
	// ExitGrace is how long to wait for a finished job's exit record to
	// appear: a shared file system may show a file written on a compute
	// node to the head node some seconds late (NFS attribute caching).
	ExitGrace time.Duration
	// CancelWait bounds the wait for a scancelled job to leave Slurm.
	CancelWait time.Duration
	Commands   Commands
	Logger     *slog.Logger
}

// Defaults for Config.
const (
	PollDefault         = time.Second
	ExitGraceDefault    = 30 * time.Second
	CancelWaitDefault   = 2 * time.Minute
	MaxResubmitsDefault = 2
)

// Executor runs jobs through Slurm; it implements worker.Executor.
type Executor struct {
	cfg Config
	log *slog.Logger
	run runner
	trk tracker
}

var _ worker.Executor = (*Executor)(nil)

// New checks cfg and returns an executor.
func New(cfg Config) (*Executor, error) {
	switch cfg.Forgotten {
	case "":
		cfg.Forgotten = ForgottenError
	case ForgottenError, ForgottenRequeue:
	default:
		return nil, fmt.Errorf("slurm: Forgotten: %q is not %q or %q", cfg.Forgotten, ForgottenError, ForgottenRequeue)
	}
	if cfg.Accounting != AccountingAuto && cfg.Accounting != AccountingNone {
		return nil, fmt.Errorf("slurm: Accounting: %q is not %q or %q", cfg.Accounting, AccountingAuto, AccountingNone)
	}
	if cfg.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("slurm: Bin: find this executable: %w", err)
		}
		cfg.Bin = exe
	}
	if !filepath.IsAbs(cfg.Bin) {
		return nil, fmt.Errorf("slurm: Bin: %q is not an absolute path (compute nodes start the job elsewhere)", cfg.Bin)
	}
	cfg.Poll = cmp.Or(cfg.Poll, PollDefault)
	cfg.ExitGrace = cmp.Or(cfg.ExitGrace, ExitGraceDefault)
	cfg.CancelWait = cmp.Or(cfg.CancelWait, CancelWaitDefault)
	cfg.MaxResubmits = cmp.Or(cfg.MaxResubmits, MaxResubmitsDefault)
	e := &Executor{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()).With("component", "slurm")}
	e.run.cmds = cfg.Commands
	e.trk.e = e
	return e, nil
}

// Stats counts the tracker's work: its polling cycles, the squeue calls
// made (by the cycles and by sweeps), all Slurm commands run, and the most
// jobs one cycle's squeue call covered.
type Stats struct {
	Cycles, SqueueCalls, Commands, WidestCycle int64
}

// Stats returns the executor's counters.
func (e *Executor) Stats() Stats {
	return Stats{Cycles: e.trk.cycles.Load(), SqueueCalls: e.run.squeueCalls.Load(), Commands: e.run.calls.Load(), WidestCycle: e.trk.widest.Load()}
}

// Execute implements worker.Executor: it submits the job to Slurm and
// waits for its end. When ctx ends first the Slurm job is cancelled and
// waited for, so it never runs on unwatched. If this attempt of the job
// was already submitted (by this executor's previous process, before a
// restart), it follows that Slurm job instead: the work goes on.
func (e *Executor) Execute(ctx context.Context, svc service.Service, env *service.Env) (json.RawMessage, error) {
	dir := filepath.Dir(env.Output)
	id := e.submitted(dir, env.Job)
	if id == "" {
		e.Sweep(dir) // an earlier run's job must not write into this attempt's files
	}
	for submits := 0; ; submits++ {
		resumed := id != ""
		if !resumed {
			var err error
			if id, err = e.submit(ctx, svc, env, dir); err != nil {
				return nil, err
			}
		}
		log := e.log.With("job", env.Job.ID, "slurm_id", id)
		if resumed {
			log.Info("following the Slurm job of this attempt again, after a restart")
			fmt.Fprintf(env.Log, "following Slurm job %s again after a restart of the executor\n", id)
		} else {
			log.Info("submitted to Slurm")
			fmt.Fprintf(env.Log, "submitted to Slurm as job %s\n", id)
		}
		res, err := e.follow(ctx, env, dir, id, log)
		if errors.Is(err, errForgotten) && e.cfg.Forgotten == ForgottenRequeue && submits < e.cfg.MaxResubmits {
			log.Warn("Slurm forgot the job without an exit record; submitting it again")
			fmt.Fprintf(env.Log, "Slurm job %s was forgotten without an exit record; submitting again\n", id)
			id = ""
			continue
		}
		return res, err
	}
}

// CanResume says whether attempt j.Attempt of job j was submitted to
// Slurm from dir already, so that Execute will follow that Slurm job
// (whether it still runs or has ended meanwhile) rather than start anew.
func (e *Executor) CanResume(dir string, j *job.Job) bool { return e.submitted(dir, j) != "" }

// submitted is the Slurm job id recorded in dir for attempt j.Attempt of
// job j, or "" if that attempt was not submitted.
func (e *Executor) submitted(dir string, j *job.Job) string {
	var sub submission
	if jobdir.ReadJSON(filepath.Join(dir, slurmFile), &sub) != nil || sub.JobID != j.ID || sub.Attempt != j.Attempt {
		return ""
	}
	return sub.SlurmID
}

// errForgotten is the end of a job that Slurm no longer knows and that
// left no exit record.
var errForgotten = errors.New(job.ReasonLost)

// OwnsWallClock tells the worker pool that this executor starts a job's
// wall clock itself, when Slurm first runs it: time spent waiting in
// Slurm's queue must not count against the job's wall limit.
func (e *Executor) OwnsWallClock() bool { return true }

// follow tracks Slurm job id until it ends, and says how. A run that
// Slurm requeued is not an end: the same Slurm job is followed again (its
// next run resumes from the job's checkpoint, if it keeps one).
func (e *Executor) follow(ctx context.Context, env *service.Env, dir, id string, log *slog.Logger) (json.RawMessage, error) {
	for {
		res, err := e.followRun(ctx, env, dir, id, log)
		if !errors.Is(err, errRequeued) {
			return res, err
		}
		log.Info("Slurm requeued the job; following it on")
		fmt.Fprintf(env.Log, "Slurm requeued job %s; following it on\n", id)
	}
}

// followRun tracks one run of Slurm job id until it leaves Slurm's active
// states.
func (e *Executor) followRun(ctx context.Context, env *service.Env, dir, id string, log *slog.Logger) (json.RawMessage, error) {
	tj := e.trk.watch(id, dir, env.Progress, newStateWatch(env, dir))
	defer e.trk.forget(id)
	running := tj.running
	var wall <-chan time.Time
	var stopWith error
wait:
	for {
		select {
		case st := <-tj.ended:
			return e.outcome(ctx, env, dir, id, st)
		case <-running:
			running = nil
			t := time.NewTimer(env.Limits.Wall())
			defer t.Stop()
			wall = t.C
		case <-wall:
			stopWith = fmt.Errorf("limit exceeded: wall_seconds (%g s)", env.Limits.WallSeconds)
			break wait
		case <-ctx.Done():
			stopWith = context.Cause(ctx)
			break wait
		}
	}
	log.Info("stopping the Slurm job", "cause", stopWith)
	e.cancel(id)
	select {
	case <-tj.ended:
	case <-time.After(e.cfg.CancelWait):
		log.Error("the Slurm job did not end after scancel", "wait", e.cfg.CancelWait)
	}
	return nil, stopWith
}
