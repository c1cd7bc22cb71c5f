// Package confine runs a service's job processes in the sandbox. It is
// the one place that speaks both languages: a service asks its Env's
// Runner to run a command for the job, and the sandbox takes a
// sandbox.Job of its own, knowing nothing of services.
package confine

import (
	"context"
	"os/exec"
	"slices"

	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/service"
)

// Runner is the service.Runner that runs a job's processes in a sandbox.
type Runner struct{ sb *sandbox.Sandbox }

var _ service.Runner = (*Runner)(nil)

// New returns the Runner over sb; its Close closes sb.
func New(sb *sandbox.Sandbox) *Runner { return &Runner{sb: sb} }

// Run runs cmd in the sandbox as a process of env's job: the sandbox is
// told the job's directories, limits and pid file, and the protections
// it gave are added to env.Protections.
func (r *Runner) Run(ctx context.Context, cmd *exec.Cmd, env *service.Env) error {
	j := &sandbox.Job{Input: env.Input, Output: env.Output, Temp: env.Temp, Limits: env.Limits, PIDFile: env.PIDFile, Loopback: env.Loopback}
	err := r.sb.Run(ctx, cmd, j)
	for _, p := range j.Protections {
		if !slices.Contains(env.Protections, p) {
			env.Protections = append(env.Protections, p)
		}
	}
	return err
}

// Close gives back what the sandbox holds on the host (see sandbox.Close).
func (r *Runner) Close() error { return r.sb.Close() }
