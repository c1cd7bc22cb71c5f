package service

import (
	"errors"
	"log/slog"
	"math"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/proc"
)

// cpuGuardEvery is how often the process group's CPU time is totalled.
const cpuGuardEvery = 200 * time.Millisecond

// cpuGuard enforces a job's CPU-time limit on a process group: RLIMIT_CPU
// on the leader (inherited by every process it forks) stops any single
// process at the limit, and a poll of the group's total stops a group of
// processes (bumps --parallel) whose sum passes it.
type cpuGuard struct {
	limit    float64 // seconds
	pidFile  string
	exceeded atomic.Bool
	done     chan struct{}
	finished chan struct{}
}

// watchCPU starts guarding the process that proc.Run (or the executor's
// Runner) records in pidFile once it has started it.
func watchCPU(limit float64, pidFile string) *cpuGuard {
	g := &cpuGuard{limit: limit, pidFile: pidFile, done: make(chan struct{}), finished: make(chan struct{})}
	guard.Go(slog.Default(), "bumps cpu watch", g.run)
	return g
}

// stop ends the guard once the process has been waited for.
func (g *cpuGuard) stop() {
	close(g.done)
	<-g.finished
}

func (g *cpuGuard) run() {
	defer close(g.finished)
	if g.limit <= 0 || g.pidFile == "" {
		return
	}
	// The pid is only known once the runner has started the process and
	// recorded it; poll for the record.
	var pid int
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for pid == 0 {
		select {
		case <-g.done:
			return
		case <-tick.C:
			pid = recordedPID(g.pidFile)
		}
	}
	secs := uint64(math.Ceil(g.limit))
	// Soft limit: SIGXCPU; hard limit a second later: SIGKILL, in case
	// the process catches SIGXCPU.
	unix.Prlimit(pid, unix.RLIMIT_CPU, &unix.Rlimit{Cur: secs, Max: secs + 1}, nil)
	tick.Reset(cpuGuardEvery)
	for {
		select {
		case <-g.done:
			return
		case <-tick.C:
		}
		if proc.GroupCPU(pid) > g.limit {
			g.exceeded.Store(true)
			proc.KillGroup(pid)
			return
		}
	}
}

// stoppedIt reports whether the limit ended the process: the guard killed
// the group, or the kernel's RLIMIT_CPU did (SIGXCPU, or SIGKILL at the
// hard limit).
func (g *cpuGuard) stoppedIt(err error) bool {
	if g.exceeded.Load() {
		return true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	cpu := ee.UserTime() + ee.SystemTime()
	switch ws.Signal() {
	case syscall.SIGXCPU:
		return true
	case syscall.SIGKILL:
		return cpu.Seconds() >= g.limit
	}
	return false
}

func recordedPID(pidFile string) int {
	r, err := proc.ReadRecord(pidFile)
	if err != nil {
		return 0
	}
	return r.PID
}
