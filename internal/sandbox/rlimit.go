package sandbox

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bumpserve/bumpserve/internal/job"
)

// openFilesDefault bounds a job's open files: plenty for Python with its
// libraries, few enough that a leak fails fast.
const openFilesDefault = 4096

// The address-space backstop under a memory cgroup (see jobRlimits).
const (
	asBackstop      = 4
	asBackstopMinMB = 1024
)

// jobRlimits turns a job's limits into the rlimits its helper sets.
// extraProcs is added to the process limit when the job shares its user
// with other processes (RLIMIT_NPROC counts all of the user's tasks).
//
// With a memory cgroup enforcing memory_mb, the address-space limit is
// only a loose backstop (asBackstop times memory_mb, at least
// asBackstopMinMB more): address space is not memory, and Python with
// NumPy maps more than 200 MB before it uses 40. Without one it is the
// only bound there is, and is memory_mb itself.
func jobRlimits(l job.Limits, extraProcs int, cgroupMemory bool) []rlimit {
	var out []rlimit
	if l.CPUSeconds > 0 {
		cpu := uint64(math.Ceil(l.CPUSeconds))
		// SIGXCPU at the limit; SIGKILL a second later for a job that
		// catches or ignores it.
		out = append(out, rlimit{"cpu", unix.RLIMIT_CPU, cpu, cpu + 1})
	}
	if l.MemoryMB > 0 {
		mb := l.MemoryMB
		if cgroupMemory {
			mb = max(asBackstop*mb, mb+asBackstopMinMB)
		}
		b := uint64(mb) << 20
		out = append(out, rlimit{"as", unix.RLIMIT_AS, b, b})
	}
	if l.DiskMB > 0 {
		b := uint64(l.DiskMB) << 20
		out = append(out, rlimit{"fsize", unix.RLIMIT_FSIZE, b, b})
	}
	if l.Processes > 0 {
		n := uint64(l.Processes) + uint64(extraProcs)
		out = append(out, rlimit{"nproc", unix.RLIMIT_NPROC, n, n})
	}
	out = append(out,
		rlimit{"nofile", unix.RLIMIT_NOFILE, openFilesDefault, openFilesDefault},
		// A crashing job must not write core files the size of its memory.
		rlimit{"core", unix.RLIMIT_CORE, 0, 0},
	)
	return out
}

// setRlimits lowers the calling process's limits. A hard limit already
// below the wanted one is kept: the helper only ever lowers.
func setRlimits(ls []rlimit) error {
	for _, l := range ls {
		var cur unix.Rlimit
		if err := unix.Getrlimit(l.Resource, &cur); err != nil {
			return fmt.Errorf("rlimit %s: %w", l.Name, err)
		}
		want := unix.Rlimit{Cur: min(l.Soft, cur.Max), Max: min(l.Hard, cur.Max)}
		if err := unix.Setrlimit(l.Resource, &want); err != nil {
			return fmt.Errorf("rlimit %s to %d: %w", l.Name, want.Cur, err)
		}
	}
	return nil
}

// userTasks counts the tasks (threads included, as RLIMIT_NPROC does)
// that uid runs now.
func userTasks(uid int) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		var owner, threads int = -1, 0
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				f := strings.Fields(v)
				if len(f) > 0 {
					owner, _ = strconv.Atoi(f[0])
				}
			} else if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				threads, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if owner == uid {
			n += threads
		}
	}
	return n
}
