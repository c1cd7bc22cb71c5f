package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ClaimDirDefault holds one lock file per claimed range of job user ids.
// It is on a tmpfs (/run), so claims vanish with the host's reboot, as
// do the processes they protect.
const ClaimDirDefault = "/run/bumpserve/uids"

// claim is a range of job user ids held by this process: an open file
// FIRST-LAST in the claim dir with an exclusive flock on it. The kernel
// drops the lock when the process dies, however it dies, so a claim
// outlives its holder only as a file that the next claimant removes.
type claim struct {
	file *os.File
	lo   int
	hi   int
}

// errRangeTaken says another live process holds an overlapping range.
var errRangeTaken = errors.New("taken")

// claimUIDs claims [lo, hi] in dir for this process, or says which
// process holds an overlapping range. owner describes this process for
// the message a later claimant shows.
func claimUIDs(dir string, lo, hi int, owner string) (*claim, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("claim job user ids: %w", err)
	}
	// One claimant at a time looks at and changes the set of claims.
	reg, err := lockFile(filepath.Join(dir, ".registry"), true)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("claim job user ids: %w", err)
	}
	for _, e := range ents {
		a, b, ok := parseRange(e.Name())
		if !ok || b < lo || a > hi {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue // removed meanwhile by its holder's shutdown
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.Remove(path) // its holder died without removing it
			f.Close()
			continue
		}
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("job user ids %d-%d are %w: %s holds %d-%d",
			lo, hi, errRangeTaken, strings.TrimSpace(string(holder)), a, b)
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%d", lo, hi))
	f, err := lockFile(path, false)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteString(owner + "\n")
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("claim job user ids: %w", err)
	}
	return &claim{file: f, lo: lo, hi: hi}, nil
}

// lockFile opens (creating) path and takes an exclusive flock on it,
// waiting for it when wait is set.
func lockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("claim job user ids: %w", err)
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("claim job user ids: lock %s: %w", path, err)
	}
	return f, nil
}

// release gives the range up: the file goes first, so that no claimant
// can find it unlocked and take it for a dead holder's.
func (c *claim) release() {
	if c == nil || c.file == nil {
		return
	}
	os.Remove(c.file.Name())
	c.file.Close()
	c.file = nil
}

// parseRange reads a claim file's or cgroup's "FIRST-LAST".
func parseRange(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	return lo, hi, ok && err1 == nil && err2 == nil && lo > 0 && hi >= lo
}

// ownerDescription names this process for whoever finds its claim: its
// pid, program and subcommand, and its data or work dir; nothing else of
// its command line, which may hold a token.
func ownerDescription() string {
	b, _ := os.ReadFile("/proc/self/cmdline")
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	keep := []string{filepath.Base(args[0])}
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		keep = append(keep, args[1])
	}
	for i, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "data" && name != "work-dir" && name != "dir") {
			continue
		}
		if strings.Contains(a, "=") {
			keep = append(keep, a)
		} else if i+1 < len(args) {
			keep = append(keep, a, args[i+1])
		}
	}
	return fmt.Sprintf("pid %d (%s)", os.Getpid(), strings.Join(keep, " "))
}
