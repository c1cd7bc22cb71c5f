package slurm

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// status is what Slurm says about one job.
type status struct {
	State    string // JOB_STATE as squeue %T prints it: RUNNING, COMPLETED, ...
	Reason   string // squeue %r, scontrol's Reason
	ExitCode string // "code:signal", when known
}

// active reports whether a job in state s may still run (or is on its way
// to). Anything else is an end.
func active(s string) bool {
	switch s {
	case "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
		"REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
		"RESV_DEL_HOLD", "SPECIAL_EXIT", "PREEMPTED", "POWER_UP_NODE", "UPDATE_DB":
		return true
	}
	return false
}

// finalStatus asks Slurm how a job that left the active states ended:
// scontrol while slurmctld still remembers it (MinJobAge), then sacct
// (an accounting daemon), then sacct -c (the job completion log, which
// is all a site without slurmdbd has). nil means Slurm has forgotten it.
func (e *Executor) finalStatus(ctx context.Context, id string) (*status, error) {
	out, err := e.run.scontrol(ctx, "show", "job", "-o", id)
	switch {
	case err == nil:
		if st := parseScontrol(out); st != nil && st.State != "" {
			return st, nil
		}
	case !errors.Is(err, errUnknownJob):
		return nil, err // slurmctld unreachable: not the same as forgotten
	}
	if e.cfg.Accounting == AccountingNone {
		return nil, nil
	}
	for _, args := range [][]string{
		{"-X", "-n", "-P", "-j", id, "-o", "JobID,State,ExitCode"},
		{"-c", "-n", "-P", "-j", id, "-o", "JobID,State,ExitCode"},
	} {
		out, err := e.run.sacct(ctx, args...)
		if err != nil {
			continue // no accounting daemon, or not root for -c
		}
		if st := parseSacct(out, id); st != nil {
			return st, nil
		}
	}
	return nil, nil
}

// parseScontrol reads `scontrol show job -o` output (one line of
// Key=Value fields).
func parseScontrol(out string) *status {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if line == "" {
		return nil
	}
	st := &status{}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "JobState":
			st.State = v
		case "Reason":
			st.Reason = v
		case "ExitCode":
			st.ExitCode = v
		}
	}
	return st
}

// parseSacct reads `sacct -n -P -o JobID,State,ExitCode` lines for id,
// taking the last (a requeued job has several).
func parseSacct(out, id string) *status {
	var st *status
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 3 || f[0] != id {
			continue
		}
		// sacct prints "CANCELLED by 0"; the state is the first word.
		state, _, _ := strings.Cut(f[1], " ")
		st = &status{State: state, ExitCode: f[2]}
	}
	return st
}

// describe words a Slurm job's end for a job's reason.
func (st *status) describe(id string) string {
	s := fmt.Sprintf("Slurm job %s %s", id, st.State)
	if st.ExitCode != "" && st.ExitCode != "0:0" {
		s += " (exit code " + st.ExitCode + ")"
	}
	if st.Reason != "" && st.Reason != "None" {
		s += ": " + st.Reason
	}
	return s
}
