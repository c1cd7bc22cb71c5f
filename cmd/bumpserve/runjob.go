package main

import (
	"context"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
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
	rec, err := slurm.RunJob(ctx, *dir, controller.Services())
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
