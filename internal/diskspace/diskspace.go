// Package diskspace keeps the server usable when its data disk fills up.
// Reserve files of preallocated space sit on the disk; writes that find
// the disk full give them up, so that users can still cancel and delete
// jobs (which frees their files) and running jobs can record how they
// ended. Meanwhile new submissions are refused (507), until there is room
// again and the reserves have been taken back.
package diskspace

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ReserveDefault is each reserve's size: room for many small transactions
// of the store's write-ahead log.
const ReserveDefault = 8 << 20

// restoreEvery bounds how often a released reserve is tried again.
const restoreEvery = 5 * time.Second

// ErrFull is the error of work refused because the data disk is full.
var ErrFull = errors.New("disk full: the server's data disk has no space left; cancel or delete jobs to free some, or ask the administrator")

// Guard watches the data directory's disk through two reserve files: the
// first is given up by any write that finds the disk full (so running
// jobs can heartbeat and record their end); the second only by a user's
// cancel or delete (Rescue), so that those work even when something
// went on to fill the first reserve's room too.
type Guard struct {
	dir  string
	size int64
	log  *slog.Logger

	mu       sync.Mutex
	reserves [2]reserve
	tried    time.Time
}

type reserve struct {
	path string
	held bool
}

// Open places the reserves, of size bytes each, in dir. If the disk has
// no room for them now, the guard takes them once there is room.
func Open(dir string, size int64, log *slog.Logger) *Guard {
	g := &Guard{dir: dir, size: size, log: log.With("component", "diskspace")}
	for i, name := range []string{"disk.reserve", "disk.reserve-users"} {
		g.reserves[i].path = filepath.Join(dir, name)
		if err := allocate(g.reserves[i].path, size); err != nil {
			g.log.Warn("no reserve of disk space yet", "err", err)
			continue
		}
		g.reserves[i].held = true
	}
	return g
}

// allocate makes the file at path hold size bytes of real blocks.
func allocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) {
		_, err = f.WriteAt(make([]byte, size), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// Full reports whether err says the disk is full, and if so gives up the
// first reserve, so that a retry finds room.
func (g *Guard) Full(err error) bool {
	if !IsFull(err) {
		return false
	}
	g.release(0)
	return true
}

// Rescue is Full for a user's cancel or delete: it gives up the first
// reserve, or if that is gone already, the last one.
func (g *Guard) Rescue(err error) bool {
	if !IsFull(err) {
		return false
	}
	if !g.release(0) {
		g.release(1)
	}
	return true
}

// release gives up reserve i; false if it was not held.
func (g *Guard) release(i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := &g.reserves[i]
	if !r.held {
		return false
	}
	r.held = false
	g.tried = time.Now()
	if err := os.Remove(r.path); err != nil {
		g.log.Error("free a disk space reserve", "err", err)
		return false
	}
	g.log.Error("data disk full: gave up a space reserve so that jobs can still be cancelled, deleted and finished; new submissions are refused until there is room",
		"dir", g.dir, "reserve", filepath.Base(r.path), "bytes", g.size)
	return true
}

// Low reports whether new work should be refused: a reserve is given up
// and there is not yet room to take it back (tried at most every few
// seconds), or the disk has less free space than a reserve.
func (g *Guard) Low() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	free, err := Free(g.dir)
	if err != nil {
		return false // cannot tell; the writes themselves will say
	}
	retry := time.Since(g.tried) >= restoreEvery
	short := false
	for i := range g.reserves {
		r := &g.reserves[i]
		if !r.held && retry {
			g.tried = time.Now()
			if free >= 2*g.size && allocate(r.path, g.size) == nil {
				r.held = true
				free -= g.size
				g.log.Info("data disk has room again: space reserve restored", "reserve", filepath.Base(r.path))
			}
		}
		short = short || !r.held
	}
	return short || free < g.size
}

// Free is the space in bytes that dir's file system has for this process.
func Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// IsFull reports whether err is a full disk or an exceeded quota: from
// the file system (ENOSPC, EDQUOT) or from SQLite (SQLITE_FULL).
func IsFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, ErrFull) {
		return true
	}
	var coded interface{ Code() int }
	const sqliteFull = 13
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteFull && strings.Contains(err.Error(), "full")
}
