package slurm

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
)

// options merges the service's overrides over the defaults.
func (e *Executor) options(svc string) Options {
	o := e.cfg.Options
	s, ok := e.cfg.Services[svc]
	if !ok {
		return o
	}
	if s.Partition != "" {
		o.Partition = s.Partition
	}
	if s.Account != "" {
		o.Account = s.Account
	}
	if s.Time != 0 {
		o.Time = s.Time
	}
	if s.MemoryMB != 0 {
		o.MemoryMB = s.MemoryMB
	}
	o.Extra = append(append([]string(nil), o.Extra...), s.Extra...)
	return o
}

// sbatchArgs are the job's sbatch options. --time is the job's wall limit
// rounded up to whole minutes (Slurm's unit) plus one, so that the
// executor's own wall timer, which names the limit, fires first; a site's
// shorter --time still caps it. A job of several tasks (MPI ranks) gets
// them all on one node: run-job starts them there with mpirun, inside
// the job's sandbox (see docs/mpi.md).
func sbatchArgs(o Options, env *service.Env, dir string) []string {
	tasks := job.Tasks(env.Spec)
	args := []string{
		"--job-name=bumpserve-" + strconv.FormatInt(env.Job.ID, 10),
		"--cpus-per-task=" + strconv.Itoa(max(env.CPUs/tasks, 1)),
		"--ntasks=" + strconv.Itoa(tasks),
	}
	if tasks > 1 {
		args = append(args, "--nodes=1")
	}
	args = append(args,
		"--chdir="+dir,
		"--output="+filepath.Join(env.Output, "slurm.out"),
	)
	minutes := int64(math.MaxInt32)
	if w := env.Limits.WallSeconds; w > 0 {
		minutes = int64(math.Ceil(w/60)) + 1
	}
	if o.Time > 0 {
		minutes = min(minutes, int64(math.Ceil(o.Time.Minutes())))
	}
	if minutes < math.MaxInt32 {
		args = append(args, "--time="+strconv.FormatInt(minutes, 10))
	}
	if o.MemoryMB > 0 {
		mem := o.MemoryMB
		if l := env.Limits.MemoryMB; l > 0 {
			mem = min(mem, l)
		}
		args = append(args, "--mem="+strconv.FormatInt(mem, 10)+"M")
	}
	if o.Partition != "" {
		args = append(args, "--partition="+o.Partition)
	}
	if o.Account != "" {
		args = append(args, "--account="+o.Account)
	}
	return append(args, o.Extra...)
}

// script is the batch script: it only execs run-job, which does the rest
// on the compute node. The options are on sbatch's command line, and
// repeated here as comments for whoever reads the job directory.
func script(bin, dir string, args []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by bumpserve; submitted as: sbatch --parsable")
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	fmt.Fprintf(&b, "\nexec %s run-job --dir %s\n", shellQuote(bin), shellQuote(dir))
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// submit writes what run-job needs into dir and sbatches the job; it
// returns the Slurm job id, also recorded in dir/slurm.json.
func (e *Executor) submit(ctx context.Context, svc service.Service, env *service.Env, dir string) (string, error) {
	jd, err := jobfs.OpenDir(dir)
	if err != nil {
		return "", fmt.Errorf("slurm: %w", err)
	}
	defer jd.Close()
	for _, f := range []string{exitFile, progressFile, slurmFile} {
		jd.Remove(f) // an earlier attempt's
	}
	spec := RunSpec{JobID: env.Job.ID, Attempt: env.Job.Attempt, Service: svc.Name(), Spec: env.Spec, CPUs: env.CPUs, Limits: env.Limits}
	if err := jobdir.WriteJSON(filepath.Join(dir, runFile), spec, 0o644); err != nil {
		return "", fmt.Errorf("slurm: %w", err)
	}
	args := sbatchArgs(e.options(svc.Name()), env, dir)
	path := filepath.Join(dir, scriptFile)
	if err := jd.Replace(scriptFile, []byte(script(e.cfg.Bin, dir, args)), 0o755); err != nil {
		return "", fmt.Errorf("slurm: write batch script: %w", err)
	}
	var out string
	for try := 0; try < 3; try++ {
		// sbatch retries a busy slurmctld itself; a failure here is more
		// likely a bad option, which we do not retry for long.
		// Never cut short: a job Slurm took must be known by its id.
		out, err = e.run.sbatch(context.WithoutCancel(ctx), append([]string{"--parsable"}, append(args, path)...)...)
		if err == nil || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return "", fmt.Errorf("slurm: submit: %w", err)
	}
	// --parsable prints "id" or "id;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, perr := strconv.ParseUint(id, 10, 64); perr != nil {
		return "", fmt.Errorf("slurm: submit: sbatch printed %q, not a job id", strings.TrimSpace(out))
	}
	if err := jobdir.WriteJSON(filepath.Join(dir, slurmFile), submission{SlurmID: id, JobID: env.Job.ID, Attempt: env.Job.Attempt}, 0o644); err != nil {
		e.cancel(id) // a job nobody can find after a restart must not run
		return "", fmt.Errorf("slurm: %w", err)
	}
	return id, nil
}
