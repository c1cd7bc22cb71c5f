// Package jobfs is the one door through which the root side (controller,
// workers, run-job and the services running in the server process) reads,
// writes, renames and removes files in a job's directories.
//
// A job's own processes can leave anything where the root side expects its
// files: symbolic links (to ../../admin.token, /proc/self/environ,
// /dev/zero), FIFOs, devices, huge files. So every path is resolved beneath
// an opened directory with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_MAGICLINKS), or, where openat2 is missing, one component at a
// time with O_NOFOLLOW; files are opened O_NONBLOCK (a FIFO never blocks)
// and must be regular once opened (fstat); reads are capped; new files are
// created O_EXCL|O_NOFOLLOW; renames and removals are relative to opened
// directories. Errors name the file relative to the job directory, never
// a host path.
package jobfs

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Why a job's file was refused; errors from this package wrap one of
// these, or an fs error (fs.ErrNotExist, fs.ErrExist).
var (
	ErrLink       = errors.New("is a symbolic link; bumpserve does not follow links a job leaves")
	ErrNotRegular = errors.New("is not a regular file")
	ErrTooLarge   = errors.New("is too large")
	ErrBadName    = errors.New("is not a clean relative path")
	errNotDir     = errors.New("is not a directory, or a part of its path is not")
)

// Error is a refused or failed access to a job's file. Name is relative
// to the job directory ("output/bumps-stderr.txt").
type Error struct {
	Name string
	Err  error
	// Detail adds to Err ("a FIFO", "over 1048576 bytes").
	Detail string
}

func (e *Error) Error() string {
	msg := e.Err.Error()
	switch {
	case errors.Is(e.Err, fs.ErrExist):
		msg = "already exists (the job left something under a name bumpserve writes)"
	case errors.Is(e.Err, fs.ErrNotExist):
		msg = "does not exist"
	}
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return e.Name + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Dir is an opened directory of a job. Its methods take slash-separated
// paths relative to it, with no empty, "." or ".." parts.
type Dir struct {
	fd   int
	name string // relative to the job directory, for errors
}

// OpenDir opens a directory the root side made (a job directory, its
// output/, a staging directory). The path itself is trusted up to its
// last component, which must not be a link.
func OpenDir(dir string) (*Dir, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	name := displayName(dir)
	if err != nil {
		err = whyNotDir(unix.AT_FDCWD, dir, err)
		return nil, wrap(cmp.Or(name, "job directory"), err)
	}
	return &Dir{fd: fd, name: name}, nil
}

// displayName is how errors name a directory opened by path: its last
// element ("output", "input"), or nothing for a job directory itself
// (named by its numeric id), so that names read "output/x".
func displayName(dir string) string {
	base := filepath.Base(filepath.Clean(dir))
	if strings.Trim(base, "0123456789") == "" {
		return ""
	}
	return base
}

// Close releases the directory.
func (d *Dir) Close() error {
	if d == nil || d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// Name is the directory's name relative to the job directory.
func (d *Dir) Name() string { return d.name }

// Sub opens a subdirectory; it must be a real directory, reached through
// no link.
func (d *Dir) Sub(rel string) (*Dir, error) {
	fd, err := d.openat(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, d.err(rel, err)
	}
	return &Dir{fd: fd, name: d.rel(rel)}, nil
}

func (d *Dir) rel(rel string) string {
	if d.name == "" {
		return rel
	}
	return path.Join(d.name, rel)
}

func (d *Dir) err(rel string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return wrap(d.rel(rel), err)
}

// wrap turns a system error into an Error naming the file.
func wrap(name string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return &Error{Name: name, Err: ErrLink}
	case errors.Is(err, unix.ENOTDIR):
		return &Error{Name: name, Err: errNotDir}
	case errors.Is(err, unix.EXDEV):
		return &Error{Name: name, Err: ErrLink, Detail: "it leads outside its directory"}
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		// Keep the errno (errors.Is(err, fs.ErrNotExist) holds) but
		// never a host path.
		return &Error{Name: name, Err: errno}
	}
	return &Error{Name: name, Err: err}
}

// checkRel accepts a clean relative path: no empty, "." or ".." parts, no
// leading slash, no NUL.
func checkRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, 0) {
		return ErrBadName
	}
	for _, p := range strings.Split(rel, "/") {
		if p == "" || p == "." || p == ".." {
			return ErrBadName
		}
	}
	return nil
}

// openat2 is missing before Linux 5.6 and under some seccomp profiles;
// then paths are walked one component at a time with O_NOFOLLOW.
var haveOpenat2 = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
})

// forceWalk makes openat fall back to the component walk (tests).
var forceWalk bool

// openat opens rel beneath d, following no link anywhere in the path.
func (d *Dir) openat(rel string, flags int, mode uint32) (int, error) {
	if err := checkRel(rel); err != nil {
		return -1, &Error{Name: d.rel(rel), Err: err}
	}
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if !forceWalk && haveOpenat2() {
		how := &unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		for {
			fd, err := unix.Openat2(d.fd, rel, how)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue // a concurrent rename; resolve again
			}
			if err == unix.ENOTDIR {
				err = d.linkOrNotDir(rel, err)
			}
			return fd, err
		}
	}
	parent, base, err := d.parent(rel)
	if err != nil {
		return -1, err
	}
	defer closeParent(d, parent)
	for {
		fd, err := unix.Openat(parent, base, flags, mode)
		if err != unix.EINTR {
			return fd, whyNotDir(parent, base, err)
		}
	}
}

// linkOrNotDir is whyNotDir for rel's last component, or for the part of
// its path that is a link.
func (d *Dir) linkOrNotDir(rel string, err error) error {
	if info, lerr := d.Lstat(rel); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
		return unix.ELOOP
	} else if errors.Is(lerr, ErrLink) {
		return lerr
	}
	return err
}

// parent opens the directory holding rel (or returns d's own fd) and
// gives rel's last component; close the fd with closeParent.
func (d *Dir) parent(rel string) (int, string, error) {
	if err := checkRel(rel); err != nil {
		return -1, "", &Error{Name: d.rel(rel), Err: err}
	}
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return d.fd, rel, nil
	}
	if !forceWalk && haveOpenat2() {
		fd, err := d.openat(rel[:i], unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return -1, "", d.err(rel[:i], err)
		}
		return fd, rel[i+1:], nil
	}
	cur := d.fd
	for _, p := range strings.Split(rel[:i], "/") {
		fd, err := unix.Openat(cur, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		err = whyNotDir(cur, p, err)
		if cur != d.fd {
			unix.Close(cur)
		}
		if err != nil {
			return -1, "", d.err(rel[:i], err)
		}
		cur = fd
	}
	return cur, rel[i+1:], nil
}

// whyNotDir tells a link from another non-directory: opening a link with
// O_DIRECTORY|O_NOFOLLOW fails ENOTDIR, not ELOOP.
func whyNotDir(dirfd int, name string, err error) error {
	var st unix.Stat_t
	if err == unix.ENOTDIR && unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.ELOOP
	}
	return err
}

func closeParent(d *Dir, fd int) {
	if fd != d.fd && fd >= 0 {
		unix.Close(fd)
	}
}

func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return fmt.Sprintf("of type %#o", mode&unix.S_IFMT)
}
