package main

import (
	"context"

	"log/slog"
	"os"

	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/slurm"
)

const runJobUsage = `run-job --dir JOBDIR

Runs one job in this process: what a Slurm batch script does on a compute
node. It reads JOBDIR/run.json, writes progress to JOBDIR/progress.json,
results and logs to JOBDIR/output/, and an exit record to JOBDIR/exit.json.
Exit status 0 when the job completed, 1 otherwise. SIGTERM stops the job.`

func runRunJob(ctx context.Context, args []string) error {
	fs := newFlags("run-job", runJobUsage)
	dir := fs.String("dir", "", "the job directory (on a shared file system)")
	confined := fs.Bool("sandbox", true, "confine the job's processes (Landlock, seccomp, no-new-privs, rlimits; no per-job user ids, which several run-jobs on one node cannot share)")
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("run-job: unexpected argument %q", pos[0])
	}
	if *dir == "" {
		return usagef("dir: missing (the job directory)")
	}
	var runner service.Runner
	if *confined {
		sb, err := sandbox.New(sandbox.Config{Unprivileged: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		if err != nil {
			return err
		}
		runner = confine.New(sb)
	}
	rec, err := slurm.RunJob(ctx, *dir, controller.Services(), runner)
	if err != nil {
		return err
	}
	if rec.State != job.Complete {
		// The reason is in the exit record and the job log; Slurm's output
		// file gets it too for whoever reads only that.
		return &exitError{code: 1, msg: rec.Reason}
	}
	return nil
}
