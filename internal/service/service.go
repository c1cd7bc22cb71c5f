// Package service holds what a job does once an executor runs it: the
// native fit, a Bumps fit, or the sleep test service. Every service checks
// its spec before the job is queued, so a bad spec is a 400 at submission
// rather than an ERROR minutes later.
package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// Service is one kind of job.
type Service interface {
	// Name is the service's name in job submissions.
	Name() string
	// Check validates a spec and the files uploaded with it, which are
	// in the directory input ("" when none were uploaded); errors name
	// the field ("spec.seconds: ...") and, for a file, its line and column.
	Check(spec json.RawMessage, input string) error
	// Run does the job. It returns the result summary (stored with the job
	// and served at /results), or an error that becomes the job's reason.
	// It must return promptly once ctx ends.
	Run(ctx context.Context, env *Env) (json.RawMessage, error)
}

// TaskRunner is a service whose jobs may ask for several tasks
// (resources.tasks): it runs them as MPI ranks. Other services' jobs are
// one process, and a spec asking them for more tasks is refused.
type TaskRunner interface {
	RunsTasks() bool
}

// RunsTasks says whether svc's jobs may run several tasks.
func RunsTasks(svc Service) bool {
	t, ok := svc.(TaskRunner)
	return ok && t.RunsTasks()
}

// ErrCancelled, wrapped in the error an executor returns, says the job was
// cancelled by something other than bumpserve (an administrator's scancel,
// say): the job then ends in CANCEL rather than ERROR.
var ErrCancelled = errors.New("cancelled")

// Env is what a running job gets from its executor. Its directories are
// absolute paths (job processes start in their temp dir).
type Env struct {
	Job    *job.Job
	Spec   json.RawMessage
	Input  string // read-only uploads
	Output string // where results, plots and logs go
	Temp   string // private HOME/TMPDIR
	CPUs   int
	Limits job.Limits
	// PIDFile is where a service that starts a process records it (see
	// package proc), so a restarted executor can sweep it.
	PIDFile string
	// Progress reports how far the job has got; cheap to call often.
	Progress func(job.Progress)
	// Log is the job's log (output/job.log).
	Log io.Writer
	// Stop, if set, is closed when the job is asked to stop early and end
	// COMPLETE with what it has found (a native fit; see checkpoint.go).
	Stop <-chan struct{}
	// Checkpointed, if set, is given each checkpoint a native fit has
	// just saved in the job's directory, or each new DREAM state a bumps
	// run saved, packed (fresh bytes, never changed after): an executor whose job directory is on this machine only
	// (an HTTP worker) sends it on, so that the next attempt, wherever it
	// runs, resumes from it. It must not block the fit for long.
	Checkpointed func(data []byte)
	// Runner runs the job's child processes; nil means proc.Run, with no
	// confinement beyond a process group that dies with the executor.
	// The executor sets it to its sandbox.
	Runner Runner
	// Loopback, set by a service before it starts the job's processes,
	// says they talk TCP among themselves (MPI ranks): the Runner gives
	// them a network namespace of their own with only lo up, instead of
	// none at all (see sandbox.Job.Loopback).
	Loopback bool
	// Protections names the confinement the Runner put the job's
	// processes under ("landlock", "rlimits", "netns", ...); the executor
	// records them with the job's result.
	Protections []string
}

// Runner starts cmd for a job, waits for it, and kills its whole process
// tree when ctx ends or it exits; pidFile records it for sweeping.
type Runner interface {
	Run(ctx context.Context, cmd *exec.Cmd, env *Env) error
}

// Command runs one of the job's child processes through the executor's
// Runner. Services never start processes any other way.
func (e *Env) Command(ctx context.Context, cmd *exec.Cmd) error {
	// Created here rather than for every job: most jobs start no process.
	for _, dir := range []string{e.Input, e.Temp} {
		if err := jobfs.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("prepare job dir: %w", err)
		}
	}
	if e.Runner != nil {
		return e.Runner.Run(ctx, cmd, e)
	}
	return proc.Run(ctx, cmd, e.PIDFile)
}

// MkdirTemp makes the directory name (and its parents) in the job's temp
// dir, which an earlier process of the job may have filled with links.
func (e *Env) MkdirTemp(name string) error {
	if err := jobfs.MkdirAll(e.Temp, 0o755); err != nil {
		return fmt.Errorf("prepare temp dir: %w", err)
	}
	d, err := jobfs.OpenDir(e.Temp)
	if err != nil {
		return fmt.Errorf("prepare temp dir: %w", err)
	}
	defer d.Close()
	if err := d.MkdirAll(name, 0o700); err != nil {
		return fmt.Errorf("prepare temp dir: %w", err)
	}
	return nil
}

// PutTemp puts a new file rel, which the job's processes may read but
// not write, in the job's temp dir. None of them may run: whatever an
// earlier one left under the name goes, and the file is made anew
// (O_EXCL), never written through a link.
func (e *Env) PutTemp(rel string, data []byte) error {
	err := jobfs.MkdirAll(e.Temp, 0o755)
	if err == nil {
		err = jobfs.RemoveAll(e.Temp, rel)
	}
	if err == nil {
		err = jobfs.WriteFile(e.Temp, rel, data, 0o644)
	}
	return err
}

// Registry maps service names to services.
type Registry map[string]Service

// NewRegistry registers services under their names.
func NewRegistry(svcs ...Service) Registry {
	r := Registry{}
	for _, s := range svcs {
		r[s.Name()] = s
	}
	return r
}

// Names lists the registered services, sorted.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a service or says which ones exist.
func (r Registry) Lookup(name string) (Service, error) {
	if s, ok := r[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("service: unknown service %q (accepted: %s)", name, strings.Join(r.Names(), ", "))
}

// decodeStrict decodes a spec into v, refusing unknown fields, and words
// errors with the "spec." field path. The envelope keys every spec may
// carry (limits, resources) are allowed through; package job reads them.
func decodeStrict(spec json.RawMessage, v any) error {
	if len(bytes.TrimSpace(spec)) == 0 {
		spec = json.RawMessage("{}")
	}
	return strictjson.DecodeAllowing(spec, "spec", v, "limits", "resources")
}
