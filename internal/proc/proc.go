// Package proc runs a job's child processes so that they never outlive
// their executor: each job process leads its own process group, gets
// SIGKILL when the executor dies (parent-death signal), and is recorded in
// a pid file that a restarted executor sweeps.
package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// Record identifies a started process group across a restart of its
// executor. The start time guards against a recycled pid.
type Record struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"` // clock ticks since boot, /proc/PID/stat field 22
}

// Run starts cmd as the leader of a new process group that dies with its
// parent, records it in pidFile, waits for it, and kills the whole group
// when ctx ends or cmd exits (so nothing it spawned lingers).
func Run(ctx context.Context, cmd *exec.Cmd, pidFile string) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A session leader already leads its own process group (and may not
	// call setpgid).
	cmd.SysProcAttr.Setpgid = !cmd.SysProcAttr.Setsid
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	if pidFile != "" {
		if err := writeRecord(pidFile, pid); err != nil {
			KillGroup(pid)
			cmd.Wait()
			return err
		}
		defer removeRecord(pidFile)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			KillGroup(pid)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	KillGroup(pid) // daemons the job left in its group
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// KillGroup sends SIGKILL to process group pgid.
func KillGroup(pgid int) {
	if pgid > 1 {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

func writeRecord(path string, pid int) error {
	st, err := startTime(pid)
	if err != nil {
		return fmt.Errorf("record process: %w", err)
	}
	// In the job directory (proc.json): through the one door.
	if err := jobfs.WriteJSON(path, Record{PID: pid, StartTime: st}, 0o600); err != nil {
		return fmt.Errorf("record process: %w", err)
	}
	return nil
}

func removeRecord(path string) { jobfs.RemoveAll(filepath.Dir(path), filepath.Base(path)) }

// Sweep kills the process group recorded in pidFile if its leader is still
// the process that was recorded, and removes the file. It reports whether
// it killed anything.
func Sweep(pidFile string) (bool, error) {
	r, err := ReadRecord(pidFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case errors.Is(err, errBadRecord):
		removeRecord(pidFile)
		return false, fmt.Errorf("sweep %s: bad record", pidFile)
	case err != nil:
		return false, err
	}
	defer removeRecord(pidFile)
	st, err := startTime(r.PID)
	if err != nil || st != r.StartTime {
		// Gone, or the pid now names another process; members of the
		// group outlived their leader only if they escaped it, and the
		// group id is still theirs:
		return killOrphans(r.PID), nil
	}
	KillGroup(r.PID)
	return true, nil
}

var errBadRecord = errors.New("bad process record")

// ReadRecord reads the process recorded in pidFile; a record that names
// no process group bumpserve could have started (pid 0 or 1) is bad.
func ReadRecord(pidFile string) (Record, error) {
	var r Record
	b, err := jobfs.ReadFile(filepath.Dir(pidFile), filepath.Base(pidFile), 4096)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil || r.PID <= 1 {
		return r, fmt.Errorf("%s: %w", pidFile, errBadRecord)
	}
	return r, nil
}

// killOrphans kills a process group whose leader has exited but whose
// members (for example daemons a job forked) remain.
func killOrphans(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil {
		return false
	}
	KillGroup(pgid)
	return true
}

// Alive reports whether process pid exists (and is not a zombie).
func Alive(pid int) bool {
	f := stat(strconv.Itoa(pid))
	return len(f) > 0 && f[0] != "Z"
}

// WaitGone polls until pid is gone or the deadline passes; for tests and
// sweeps that must confirm a kill.
func WaitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !Alive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return !Alive(pid)
}

func startTime(pid int) (uint64, error) {
	f := stat(strconv.Itoa(pid))
	if len(f) < 20 {
		return 0, fmt.Errorf("no or short /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 overall
}

// stat returns the fields of /proc/PID/stat after the command name
// (which may contain spaces and parentheses), state first; nil if the
// process is gone.
func stat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; 100 on every
// Linux this runs on.
const clockTicks = 100

// GroupCPU totals the user+system CPU seconds, including reaped
// children's, of every process in process group pgid.
func GroupCPU(pgid int) float64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	group := strconv.Itoa(pgid)
	var ticks uint64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		// After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14).
		f := stat(e.Name())
		if len(f) < 15 || f[2] != group {
			continue
		}
		for _, k := range f[11:15] {
			n, _ := strconv.ParseUint(k, 10, 64)
			ticks += n
		}
	}
	return float64(ticks) / clockTicks
}
