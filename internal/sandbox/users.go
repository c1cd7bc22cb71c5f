package sandbox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// UIDsDefault is the range of user ids jobs run as when the executor is
// root: one per running job, so that neither RLIMIT_NPROC nor signals
// nor file ownership cross from one job to another. The ids need no
// entry in /etc/passwd, but must not belong to anyone else on the host,
// and two executors on one host need ranges of their own.
var UIDsDefault = [2]int{61000, 61999}

// users hands out the ids of a range to running jobs.
type users struct {
	mu     sync.Mutex
	lo, hi int
	busy   map[int]bool
}

func newUsers(r [2]int) (*users, error) {
	if r[0] <= 0 || r[1] < r[0] {
		return nil, fmt.Errorf("sandbox: UIDs: %d-%d is not a range of non-root user ids (e.g. %d-%d)",
			r[0], r[1], UIDsDefault[0], UIDsDefault[1])
	}
	return &users{lo: r[0], hi: r[1], busy: map[int]bool{}}, nil
}

// acquire returns a user id no other running job has.
func (u *users) acquire() (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id := u.lo; id <= u.hi; id++ {
		if !u.busy[id] {
			u.busy[id] = true
			return id, nil
		}
	}
	return 0, fmt.Errorf("sandbox: all %d job user ids (%d-%d) are in use; widen Config.UIDs", u.hi-u.lo+1, u.lo, u.hi)
}

// release returns id to the pool; the caller has made sure that no
// process runs as id any more.
func (u *users) release(id int) {
	u.mu.Lock()
	delete(u.busy, id)
	u.mu.Unlock()
}

// chownTree gives dir and everything in it to uid (group uid too),
// without following symlinks, except what the executor itself made
// there but directories: its files (the job log, the files it hands the
// job as stdout and stderr) stay its own, so the job cannot write them
// by name. Files an earlier attempt's job made pass to this one.
func chownTree(dir string, uid int) error {
	self := uint32(os.Geteuid())
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == self {
					return nil
				}
			}
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			return fmt.Errorf("give %s to the job's user: %w", p, err)
		}
		return nil
	})
}
