package slurm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
)

// progressEvery bounds how often run-job rewrites the progress file: the
// tracker reads it once a cycle, and a shared file system should not see
// thousands of renames a second from a busy fitter.
const progressEvery = 250 * time.Millisecond

// RunJob is `bumpserve run-job`: it runs the job described by dir/run.json
// in this process (on a compute node), with progress to dir/progress.json
// and its log appended to job.log (output/job.log once it ended), and writes dir/exit.json as its
// last act. ctx ends on SIGTERM (scancel, Slurm's time limit); the record
// then says the job was signalled, and Slurm's state says why. The record
// is returned too; the error is for a job that could not be run at all.
// runner (may be nil) confines the job's processes, as on any executor.
func RunJob(ctx context.Context, dir string, services service.Registry, runner service.Runner) (*ExitRecord, error) {
	var spec RunSpec
	if err := jobdir.ReadJSON(filepath.Join(dir, runFile), &spec); err != nil {
		return nil, fmt.Errorf("run-job: %w", err)
	}
	// A run Slurm requeued left its record; the executor must not take
	// it for this run's.
	jobfs.RemoveAll(dir, exitFile)
	rec := runJob(ctx, dir, &spec, services, runner)
	if err := jobdir.WriteJSON(filepath.Join(dir, exitFile), rec, 0o644); err != nil {
		return rec, fmt.Errorf("run-job: %w", err)
	}
	return rec, nil
}

func runJob(ctx context.Context, dir string, spec *RunSpec, services service.Registry, runner service.Runner) *ExitRecord {
	rec := &ExitRecord{Attempt: spec.Attempt, State: job.Error}
	svc, err := services.Lookup(spec.Service)
	if err != nil {
		rec.Reason = err.Error()
		return rec
	}
	d := jobdir.Dir(dir)
	for _, sub := range []string{d.Output(), d.Temp()} {
		if err := jobfs.MkdirAll(sub, 0o755); err != nil {
			rec.Reason = fmt.Sprintf("prepare job dir on %s: %v", hostname(), err)
			return rec
		}
	}
	// The executor that submitted the job publishes the log to output/
	// once the job has ended.
	logFile, err := d.OpenLog()
	if err != nil {
		rec.Reason = fmt.Sprintf("open job log on %s: %v", hostname(), err)
		return rec
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "run-job on %s: job %d attempt %d, %d CPUs\n", hostname(), spec.JobID, spec.Attempt, spec.CPUs)

	pw := &progressWriter{path: filepath.Join(dir, progressFile)}
	env := &service.Env{
		Job:  &job.Job{ID: spec.JobID, Service: spec.Service, Spec: spec.Spec, CPUs: spec.CPUs, Attempt: spec.Attempt},
		Spec: spec.Spec, Input: d.Input(), Output: d.Output(), Temp: d.Temp(),
		CPUs: spec.CPUs, Limits: spec.Limits, PIDFile: filepath.Join(dir, "proc.json"),
		Progress: pw.report, Log: logFile, Runner: runner,
	}
	result, err := svc.Run(ctx, env)
	rec.Protections = env.Protections
	pw.flush()
	switch {
	case ctx.Err() != nil:
		rec.Signalled = true
		rec.Reason = fmt.Sprintf("stopped by a signal on %s", hostname())
		fmt.Fprintln(logFile, "run-job: stopped by a signal")
	case err != nil:
		rec.Reason = err.Error()
		fmt.Fprintln(logFile, "run-job: failed:", err)
	default:
		// The service itself wrote output/results.json, as it does anywhere.
		rec.State, rec.Result = job.Complete, result
		fmt.Fprintln(logFile, "run-job:", rec.State)
	}
	jobfs.RemoveAll(dir, "tmp")
	rec.Reason = d.Hide(rec.Reason)
	return rec
}

// progressWriter keeps the job's latest progress in a file, rewritten by
// rename at most every progressEvery; flush writes the last word.
type progressWriter struct {
	path    string
	mu      sync.Mutex
	latest  *job.Progress
	written time.Time
	dirty   bool
}

func (w *progressWriter) report(p job.Progress) {
	p.Updated = time.Now().UTC()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.latest, w.dirty = &p, true
	if time.Since(w.written) >= progressEvery {
		w.writeLocked()
	}
}

func (w *progressWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirty {
		w.writeLocked()
	}
}

func (w *progressWriter) writeLocked() {
	jobdir.WriteJSON(w.path, w.latest, 0o644) // best effort: progress is advisory
	w.written, w.dirty = time.Now(), false
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
