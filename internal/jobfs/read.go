package jobfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Open opens a regular file for reading. It is opened non-blocking, so
// that a FIFO cannot hold the caller, and refused unless fstat says it is
// a regular file.
func (d *Dir) Open(rel string) (*os.File, fs.FileInfo, error) {
	fd, err := d.openat(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, d.err(rel, err)
	}
	info, err := regular(fd, d.rel(rel))
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	unix.SetNonblock(fd, false) // a regular file: plain blocking reads
	return os.NewFile(uintptr(fd), d.rel(rel)), info, nil
}

// regular checks that fd is a regular file and describes it.
func regular(fd int, name string) (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, wrap(name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &Error{Name: name, Err: ErrNotRegular, Detail: kind(st.Mode)}
	}
	// A second name for one inode may be a hard link a job made to a
	// file outside its directories (one it could read, or a recycled
	// uid's): reading it would carry that file out. Nothing bumpserve
	// writes has more than one name.
	if st.Nlink > 1 {
		return nil, &Error{Name: name, Err: ErrNotRegular, Detail: "a hard link (the file has other names)"}
	}
	return newInfo(path.Base(name), &st), nil
}

// ReadFile reads a whole regular file of at most max bytes; a larger one
// is an error wrapping ErrTooLarge, and nothing of it is read.
func (d *Dir) ReadFile(rel string, max int64) ([]byte, error) {
	f, info, err := d.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooLarge := &Error{Name: d.rel(rel), Err: ErrTooLarge, Detail: fmt.Sprintf("over %d bytes", max)}
	if info.Size() > max {
		return nil, tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, d.err(rel, err)
	}
	if int64(len(b)) > max { // grew while read
		return nil, tooLarge
	}
	return b, nil
}

// Tail reads the last max bytes of a regular file; cut says there was
// more before them.
func (d *Dir) Tail(rel string, max int64) (b []byte, cut bool, err error) {
	f, info, err := d.Open(rel)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if info.Size() > max {
		cut = true
		if _, err := f.Seek(info.Size()-max, io.SeekStart); err != nil {
			return nil, false, d.err(rel, err)
		}
	}
	b, err = io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, false, d.err(rel, err)
	}
	return b, cut, nil
}

// Lstat describes rel itself, a link included, without following it.
func (d *Dir) Lstat(rel string) (fs.FileInfo, error) {
	parent, base, err := d.parent(rel)
	if err != nil {
		return nil, err
	}
	defer closeParent(d, parent)
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, d.err(rel, err)
	}
	return newInfo(base, &st), nil
}

// maxDepth bounds how deep Walk and RemoveAll go: a job can nest
// directories far deeper than any fit needs.
const maxDepth = 64

// Walk calls fn, in name order, for each regular file under rel ("" for d
// itself), with its path relative to rel. Links, FIFOs, devices and
// sockets are skipped, and only real directories are entered; a missing
// rel has no files.
func (d *Dir) Walk(rel string, fn func(rel string, info fs.FileInfo) error) error {
	fd := d.fd
	if rel != "" {
		var err error
		if fd, err = d.openat(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0); err != nil {
			if err == unix.ENOENT {
				return nil
			}
			return d.err(rel, err)
		}
		defer unix.Close(fd)
	}
	return walkFD(fd, "", 0, fn)
}

func walkFD(fd int, prefix string, depth int, fn func(string, fs.FileInfo) error) error {
	names, err := readNames(fd)
	if err != nil {
		return wrap(prefix, err)
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		rel := path.Join(prefix, name)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			if st.Nlink > 1 {
				continue // a hard link: see regular
			}
			if err := fn(rel, newInfo(name, &st)); err != nil {
				return err
			}
		case unix.S_IFDIR:
			if depth+1 >= maxDepth {
				continue
			}
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue // replaced meanwhile
			}
			err = walkFD(sub, rel, depth+1, fn)
			unix.Close(sub)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// readNames lists a directory fd's entries, sorted, without "." and "..".
func readNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(dup)
	f := os.NewFile(uintptr(dup), "")
	defer f.Close()
	// A dup shares the offset: start from the top each time.
	if _, err := unix.Seek(dup, 0, io.SeekStart); err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// info is a fs.FileInfo from fstat.
type info struct {
	name string
	st   unix.Stat_t
}

func newInfo(name string, st *unix.Stat_t) fs.FileInfo { return &info{name: name, st: *st} }

func (i *info) Name() string       { return i.name }
func (i *info) Size() int64        { return i.st.Size }
func (i *info) ModTime() time.Time { return time.Unix(i.st.Mtim.Unix()) }
func (i *info) IsDir() bool        { return i.st.Mode&unix.S_IFMT == unix.S_IFDIR }
func (i *info) Sys() any           { return &i.st }
func (i *info) Mode() fs.FileMode {
	m := fs.FileMode(i.st.Mode & 0o777)
	switch i.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	}
	return m
}

// Names lists the entries of the directory rel ("" for d), sorted, links
// and all, without following any.
func (d *Dir) Names(rel string) ([]string, error) {
	fd := d.fd
	if rel != "" {
		var err error
		if fd, err = d.openat(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0); err != nil {
			return nil, d.err(rel, err)
		}
		defer unix.Close(fd)
	}
	names, err := readNames(fd)
	if err != nil {
		return nil, d.err(rel, err)
	}
	return names, nil
}
