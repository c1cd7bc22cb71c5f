package slurm

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// Commands names the Slurm programs the executor runs; empty fields take
// the plain names from PATH. Sites that wrap them (or tests) point these
// elsewhere.
type Commands struct {
	Sbatch, Squeue, Scontrol, Scancel, Sacct string
}

// cmdTimeout bounds one Slurm command: a hung slurmctld must not hang the
// tracker for ever (the next cycle tries again).
const cmdTimeout = 30 * time.Second

// errUnknownJob is Slurm saying it knows none of the ids asked about.
var errUnknownJob = errors.New("slurm: invalid job id")

// runner runs Slurm commands and counts them, so that tests (and metrics)
// can check that tracking costs one squeue per cycle, not one per job.
type runner struct {
	cmds        Commands
	squeueCalls atomic.Int64
	calls       atomic.Int64
}

// run runs name with args and returns its standard output. Errors carry
// the command line and what it printed on standard error.
func (r *runner) run(ctx context.Context, name string, args ...string) (string, error) {
	r.calls.Add(1)
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "Invalid job id") {
			return stdout.String(), errUnknownJob
		}
		return stdout.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

func (r *runner) sbatch(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, cmp.Or(r.cmds.Sbatch, "sbatch"), args...)
}

func (r *runner) squeue(ctx context.Context, args ...string) (string, error) {
	r.squeueCalls.Add(1)
	return r.run(ctx, cmp.Or(r.cmds.Squeue, "squeue"), args...)
}

func (r *runner) scontrol(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, cmp.Or(r.cmds.Scontrol, "scontrol"), args...)
}

func (r *runner) scancel(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, cmp.Or(r.cmds.Scancel, "scancel"), args...)
}

func (r *runner) sacct(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, cmp.Or(r.cmds.Sacct, "sacct"), args...)
}
