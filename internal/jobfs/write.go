package jobfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Create makes a new file for writing, O_EXCL|O_NOFOLLOW: whatever
// already has the name (a job's link to a host file, say) is an error
// wrapping fs.ErrExist, never written through.
func (d *Dir) Create(rel string, perm os.FileMode) (*os.File, error) {
	fd, err := d.openat(rel, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, uint32(perm.Perm()))
	if err != nil {
		return nil, d.err(rel, err)
	}
	return os.NewFile(uintptr(fd), d.rel(rel)), nil
}

// WriteFile creates a new file (see Create) holding data.
func (d *Dir) WriteFile(rel string, data []byte, perm os.FileMode) error {
	return d.writeFile(rel, data, perm, false)
}

func (d *Dir) writeFile(rel string, data []byte, perm os.FileMode, durable bool) error {
	f, err := d.Create(rel, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d.err(rel, err)
	}
	return nil
}

// Replace writes data to rel atomically: into a new temporary file beside
// it, renamed over it, so that a reader (even on another node of a shared
// file system) never sees half of it. For records in directories the job
// cannot write; whatever had the name is replaced, not written through.
func (d *Dir) Replace(rel string, data []byte, perm os.FileMode) error {
	return d.replace(rel, data, perm, false)
}

// ReplaceDurable is Replace that survives a crash of the machine, not only
// of the process: the new file reaches the disk before the rename, and the
// rename before it returns. For states worth hours (checkpoints), not for
// records a rerun rewrites.
func (d *Dir) ReplaceDurable(rel string, data []byte, perm os.FileMode) error {
	return d.replace(rel, data, perm, true)
}

func (d *Dir) replace(rel string, data []byte, perm os.FileMode, durable bool) error {
	tmp := rel + ".tmp"
	if err := d.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // a crash's leftover that will not go
	}
	if err := d.writeFile(tmp, data, perm, durable); err != nil {
		return err
	}
	if err := d.Rename(tmp, rel); err != nil {
		d.Remove(tmp)
		return err
	}
	if durable {
		return d.Sync()
	}
	return nil
}

// Sync flushes the directory itself (the names in it) to the disk.
func (d *Dir) Sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return d.err(".", err)
	}
	return nil
}

// OpenAppend opens a log for appending, creating it if need be. Use it only
// in directories the job cannot write; it is still never a link and must
// be a regular file.
func (d *Dir) OpenAppend(rel string, perm os.FileMode) (*os.File, error) {
	fd, err := d.openat(rel, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NONBLOCK|unix.O_NOCTTY, uint32(perm.Perm()))
	if err != nil {
		return nil, d.err(rel, err)
	}
	if _, err := regular(fd, d.rel(rel)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.SetNonblock(fd, false)
	return os.NewFile(uintptr(fd), d.rel(rel)), nil
}

// MkdirAll makes rel and any missing parents; an existing part must be a
// real directory, not a link.
func (d *Dir) MkdirAll(rel string, perm os.FileMode) error {
	if err := checkRel(rel); err != nil {
		return &Error{Name: d.rel(rel), Err: err}
	}
	cur := d.fd
	defer func() { closeParent(d, cur) }()
	for _, p := range strings.Split(rel, "/") {
		if err := unix.Mkdirat(cur, p, uint32(perm.Perm())); err != nil && err != unix.EEXIST {
			return d.err(rel, err)
		}
		fd, err := unix.Openat(cur, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return d.err(rel, whyNotDir(cur, p, err))
		}
		closeParent(d, cur)
		cur = fd
	}
	return nil
}

// Rename moves from to to, both beneath d, replacing what to names (the
// entry, never what a link there points at).
func (d *Dir) Rename(from, to string) error { return d.rename(from, to, 0) }

// RenameNoReplace moves from to to, failing (fs.ErrExist) when to exists.
func (d *Dir) RenameNoReplace(from, to string) error {
	return d.rename(from, to, unix.RENAME_NOREPLACE)
}

func (d *Dir) rename(from, to string, flags uint) error {
	pf, bf, err := d.parent(from)
	if err != nil {
		return err
	}
	defer closeParent(d, pf)
	pt, bt, err := d.parent(to)
	if err != nil {
		return err
	}
	defer closeParent(d, pt)
	err = unix.Renameat2(pf, bf, pt, bt, flags)
	if flags != 0 && (err == unix.EINVAL || err == unix.ENOSYS) {
		// No RENAME_NOREPLACE (old kernels, some network file
		// systems): a hard link fails the same way when to exists.
		if err = unix.Linkat(pf, bf, pt, bt, 0); err == nil {
			err = unix.Unlinkat(pf, bf, 0)
		}
	}
	if err != nil {
		return d.err(to, err)
	}
	return nil
}

// Remove removes a file, link or empty directory, never what a link
// points at. A missing name is an error wrapping fs.ErrNotExist.
func (d *Dir) Remove(rel string) error {
	parent, base, err := d.parent(rel)
	if err != nil {
		return err
	}
	defer closeParent(d, parent)
	err = unix.Unlinkat(parent, base, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		err = unix.Unlinkat(parent, base, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return d.err(rel, err)
	}
	return nil
}

// RemoveAll removes rel and everything under it, following no link; a
// missing rel is no error.
func (d *Dir) RemoveAll(rel string) error {
	parent, base, err := d.parent(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer closeParent(d, parent)
	r := &remover{top: parent}
	err = r.removeAt(parent, base, 0)
	// Subtrees deeper than maxRemoveDepth were moved up beside rel, each
	// under a fresh name, and go now, with the descriptors above freed.
	for err == nil && len(r.deep) > 0 {
		name := r.deep[0]
		r.deep = r.deep[1:]
		err = r.removeAt(parent, name, 0)
	}
	if err != nil {
		return d.err(rel, err)
	}
	return nil
}

// maxRemoveDepth bounds how many directories' descriptors a removal holds
// at once (one per level, as os.RemoveAll does). A job can nest
// directories without bound (mkdir and chdir, a few KB a level), so a
// subtree found this deep is moved up to the top and removed from there.
const maxRemoveDepth = 1024

// remover removes trees beneath top, the directory RemoveAll started in.
type remover struct {
	top  int
	deep []string // subtrees moved up beside the tree, still to remove
	n    int
}

func (r *remover) removeAt(parent int, name string, depth int) error {
	err := unix.Unlinkat(parent, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	if depth >= maxRemoveDepth {
		return r.moveUp(parent, name)
	}
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	names, err := readNames(fd)
	for _, n := range names {
		if rerr := r.removeAt(fd, n, depth+1); rerr != nil && err == nil {
			err = rerr
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(parent, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}

// moveUp renames the directory name in parent to a fresh name in r.top,
// to be removed once the descent that found it has unwound.
func (r *remover) moveUp(parent int, name string) error {
	for {
		r.n++
		to := fmt.Sprintf(".bumpserve-removing-%d-%d", os.Getpid(), r.n)
		err := unix.Renameat2(parent, name, r.top, to, unix.RENAME_NOREPLACE)
		if err == unix.EEXIST {
			continue
		}
		if err == unix.EINVAL || err == unix.ENOSYS { // no RENAME_NOREPLACE
			if unix.Fstatat(r.top, to, new(unix.Stat_t), unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue
			}
			err = unix.Renameat(parent, name, r.top, to)
		}
		if err != nil {
			return err
		}
		r.deep = append(r.deep, to)
		return nil
	}
}
