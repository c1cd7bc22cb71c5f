package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// buildRoot replaces the helper's file system view (in the private mount
// namespace its parent cloned) with a new root on a small tmpfs holding
// only s's paths, each at its own absolute path: system paths and the
// input read-only, output and temp read-write, a few devices, a private
// /dev/shm and a /proc that shows only the job user's processes. The rest
// of the host (other jobs, the data dir and its database, /etc, /root,
// /tmp) does not exist for the job. Because the job's directories are
// bind-mounted, it needs no search permission on the data dir above them.
func buildRoot(s *spec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	type bind struct {
		path string
		fd   int
		rw   bool
		link string // the target when path is a symlink
	}
	var binds []bind
	defer func() {
		for _, b := range binds {
			if b.fd >= 0 {
				unix.Close(b.fd)
			}
		}
	}()
	// Open every source before the tmpfs hides any of them (a job dir
	// may well live under /tmp).
	add := func(rw bool, paths ...string) error {
		for _, p := range paths {
			fi, err := os.Lstat(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				t, err := os.Readlink(p)
				if err != nil {
					return err
				}
				binds = append(binds, bind{path: p, fd: -1, link: t})
				continue
			}
			fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", p, err)
			}
			binds = append(binds, bind{path: p, fd: fd, rw: rw})
		}
		return nil
	}
	if err := add(false, s.ReadOnly...); err != nil {
		return err
	}
	if err := add(false, devicesRO...); err != nil {
		return err
	}
	if err := add(true, s.ReadWrite...); err != nil {
		return err
	}
	if err := add(true, devicesRW...); err != nil {
		return err
	}

	const root = "/tmp"
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	for _, b := range binds {
		dst := filepath.Join(root, b.path)
		if _, err := os.Lstat(dst); err == nil {
			continue // already visible inside an earlier bind
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if b.link != "" {
			if err := os.Symlink(b.link, dst); err != nil {
				return err
			}
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(b.fd, &st); err != nil {
			return err
		}
		var err error
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = os.Mkdir(dst, 0o755)
		} else {
			err = os.WriteFile(dst, nil, 0o644)
		}
		if err != nil {
			return err
		}
		src := "/proc/self/fd/" + strconv.Itoa(b.fd)
		if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", b.path, err)
		}
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID)
		if st.Mode&unix.S_IFMT != unix.S_IFCHR {
			flags |= unix.MS_NODEV
		}
		if !b.rw {
			flags |= unix.MS_RDONLY
		}
		if err := unix.Mount("", dst, "", flags, ""); err != nil {
			return fmt.Errorf("remount %s: %w", b.path, err)
		}
	}
	for _, d := range []string{"/proc", "/dev/shm"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("proc", root+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "hidepid=2"); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := unix.Mount("tmpfs", root+"/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=64m"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching
	// it leaves only the new root, with no path back to the host's.
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make the root read-only: %w", err)
	}
	return nil
}
