package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupRoot is where cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroups is where this sandbox makes its jobs' cgroups: one parent
// directory per controller (and one for killing, possibly the same),
// each a child of the executor's own cgroup so that the host's limits on
// the executor still bound its jobs. Empty fields mean "unavailable".
type cgroups struct {
	v2     bool
	memory string // parent dir in a hierarchy with the memory controller
	pids   string // parent dir in a hierarchy with the pids controller
	kill   string // parent dir in a v2 hierarchy offering cgroup.kill
	name   string // the base name of the parent dirs
}

// ensureParent makes one of the sandbox's parent groups, again if
// something removed it while the executor ran.
func (c cgroups) ensureParent(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if c.v2 {
		return enableControllers(dir)
	}
	return nil
}

func enableControllers(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
		return fmt.Errorf("enable memory and pids controllers in %s: %w", dir, err)
	}
	return nil
}

// probeCgroups finds the layout: pure v2 (memory and pids in
// /sys/fs/cgroup), or v1 (/sys/fs/cgroup/memory, /sys/fs/cgroup/pids),
// possibly hybrid with a controller-less v2 tree at
// /sys/fs/cgroup/unified that still offers cgroup.kill. name is this
// sandbox's parent group, which it creates.
func probeCgroups(name string) (cgroups, error) {
	own := ownCgroups()
	var c cgroups
	var errs []error
	c.name = name
	mk := func(hier, rel string) string {
		dir := filepath.Join(cgroupRoot, hier, rel, name)
		if err := c.ensureParent(dir); err != nil {
			errs = append(errs, err)
			return ""
		}
		return dir
	}
	if b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		c.v2 = true
		base := filepath.Join(cgroupRoot, own[""])
		ctrl := strings.Fields(string(b))
		if !slices.Contains(ctrl, "memory") || !slices.Contains(ctrl, "pids") {
			return c, fmt.Errorf("cgroup v2 without the memory and pids controllers (has %v)", ctrl)
		}
		// Controllers must be enabled down to our jobs; the executor's
		// own group may refuse (it holds processes) unless it is the root.
		if err := enableControllers(base); err != nil {
			return c, err
		}
		dir := mk("", own[""])
		if dir == "" {
			return c, errors.Join(errs...)
		}
		c.memory, c.pids, c.kill = dir, dir, dir
		return c, nil
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.limit_in_bytes")); err == nil {
		c.memory = mk("memory", own["memory"])
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "pids", "cgroup.procs")); err == nil {
		c.pids = mk("pids", own["pids"])
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "unified", "cgroup.procs")); err == nil {
		if d := mk("unified", own[""]); d != "" {
			if _, err := os.Stat(filepath.Join(d, "cgroup.kill")); err == nil {
				c.kill = d
			} else {
				os.Remove(d)
			}
		}
	}
	return c, errors.Join(errs...)
}

// ownCgroups maps each controller ("" for the v2 tree) to the executor's
// cgroup path, from /proc/self/cgroup.
func ownCgroups() map[string]string {
	m := map[string]string{}
	b, _ := os.ReadFile("/proc/self/cgroup")
	for line := range strings.Lines(string(b)) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, ctrl := range strings.Split(f[1], ",") {
			m[ctrl] = f[2]
		}
	}
	return m
}

// jobCgroup is one job's set of cgroups (one directory per hierarchy).
type jobCgroup struct {
	c    cgroups
	name string
	dirs []string
}

// create makes the job's cgroups named name with the given memory and
// process limits (0: none), replacing any left over under that name.
func (c cgroups) create(name string, memoryMB, processes int64) (*jobCgroup, error) {
	j := &jobCgroup{c: c, name: name}
	for _, parent := range []string{c.memory, c.pids, c.kill} {
		if parent == "" || slices.Contains(j.dirs, filepath.Join(parent, name)) {
			continue
		}
		dir := filepath.Join(parent, name)
		if _, err := os.Stat(dir); err == nil {
			removeCgroup(dir)
		}
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, os.ErrNotExist) {
			// The parent was removed underneath (by an administrator, or
			// by a cleanup that did not know it was ours): make it again.
			if err = c.ensureParent(parent); err == nil {
				err = os.Mkdir(dir, 0o755)
			}
		}
		if err != nil {
			j.destroy()
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		j.dirs = append(j.dirs, dir)
	}
	set := func(parent, file, value string) error {
		if parent == "" {
			return nil
		}
		err := os.WriteFile(filepath.Join(parent, name, file), []byte(value), 0)
		if err != nil {
			return fmt.Errorf("cgroup %s=%s: %w", file, value, err)
		}
		return nil
	}
	var err error
	if memoryMB > 0 {
		b := strconv.FormatInt(memoryMB<<20, 10)
		if c.v2 {
			err = errors.Join(set(c.memory, "memory.max", b), set(c.memory, "memory.swap.max", "0"))
		} else {
			err = set(c.memory, "memory.limit_in_bytes", b)
			// Without swap accounting there is no memsw file; then swap
			// is not counted, which the host's own limits cover.
			if _, serr := os.Stat(filepath.Join(c.memory, name, "memory.memsw.limit_in_bytes")); serr == nil {
				err = errors.Join(err, set(c.memory, "memory.memsw.limit_in_bytes", b))
			}
		}
	}
	if processes > 0 {
		err = errors.Join(err, set(c.pids, "pids.max", strconv.FormatInt(processes, 10)))
	}
	if err != nil {
		j.destroy()
		return nil, err
	}
	return j, nil
}

// procsFiles are the cgroup.procs files a process writes itself into.
func (j *jobCgroup) procsFiles() []string {
	var out []string
	for _, d := range j.dirs {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	return out
}

// kill ends every process in the job's cgroups, at once where
// cgroup.kill exists, else by signalling members until none is left
// (the pids limit bounds how fast a fork bomb can refill the group).
func (j *jobCgroup) kill() {
	for _, d := range j.dirs {
		killCgroup(d)
	}
}

// destroy kills what is left and removes the job's cgroups.
func (j *jobCgroup) destroy() {
	for _, d := range j.dirs {
		removeCgroup(d)
	}
	j.dirs = nil
}

// oomKills is how many of the job's processes the kernel killed for
// going over the memory limit.
func (j *jobCgroup) oomKills() int {
	if j.c.memory == "" {
		return 0
	}
	file := "memory.oom_control" // v1: "oom_kill N"
	if j.c.v2 {
		file = "memory.events"
	}
	return counter(filepath.Join(j.c.memory, j.name, file), "oom_kill")
}

// pidsDenied is how many forks the pids limit refused.
func (j *jobCgroup) pidsDenied() int {
	if j.c.pids == "" {
		return 0
	}
	return counter(filepath.Join(j.c.pids, j.name, "pids.events"), "max")
}

func counter(file, key string) int {
	b, _ := os.ReadFile(file)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func killCgroup(dir string) {
	if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) == nil {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		pids := members(dir)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
}

func members(dir string) []int {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// removeCgroup kills a cgroup's processes, waits until the kernel has
// reaped them (rmdir fails with EBUSY before), and removes it.
func removeCgroup(dir string) error {
	killCgroup(dir)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// close removes this sandbox's parent groups if no job cgroup is left
// in them.
func (c cgroups) close() {
	for _, parent := range []string{c.memory, c.pids, c.kill} {
		if parent != "" {
			os.Remove(parent) // fails, harmlessly, while a job group remains
		}
	}
}

// sweep removes the job cgroups that earlier executors with an
// overlapping uid range left behind, killing the processes still in
// them, and their parent groups. Holding the range's claim proves those
// executors are gone; groups of other ranges belong to live executors
// and are never touched.
func (c cgroups) sweep(lo, hi int) (int, error) {
	n := 0
	var errs []error
	for _, parent := range []string{c.memory, c.pids, c.kill} {
		if parent == "" {
			continue
		}
		sibs, _ := os.ReadDir(filepath.Dir(parent))
		for _, sib := range sibs {
			a, b, ok := parentRange(sib.Name())
			if !ok || b < lo || a > hi {
				continue
			}
			dir := filepath.Join(filepath.Dir(parent), sib.Name())
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.IsDir() && strings.HasPrefix(e.Name(), "job-") {
					if len(members(filepath.Join(dir, e.Name()))) > 0 {
						n++
					}
					errs = append(errs, removeCgroup(filepath.Join(dir, e.Name())))
				}
			}
			if dir != parent {
				os.Remove(dir)
			}
		}
	}
	return n, errors.Join(errs...)
}

// parentName names this executor's parent groups after its uid range
// and its pid, so that no two live executors share one.
func parentName(lo, hi int) string {
	return fmt.Sprintf("bumpserve-%d-%d-pid%d", lo, hi, os.Getpid())
}

// parentRange reads the uid range of a parent group's name, also of the
// older "bumpserve-FIRST" form.
func parentRange(name string) (int, int, bool) {
	rest, ok := strings.CutPrefix(name, "bumpserve-")
	if !ok {
		return 0, 0, false
	}
	if n, err := strconv.Atoi(rest); err == nil {
		return n, n, n > 0
	}
	r, _, _ := strings.Cut(rest, "-pid")
	return parseRange(r)
}
