package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Exit codes of the helper when it fails before the job starts; the
// message on the status pipe says why.
const (
	exitUsage = 125 // not called as the executor calls it
	exitSetup = 126 // could not confine itself; nothing of the job ran
)

// Main is the confining helper's entry point, run as
// `HELPER sandbox-exec SPEC`: it confines its own process (cgroups, a
// private root, the job's user, no_new_privs, Landlock, seccomp, rlimits,
// in that order, each step needing the privileges the next one drops) and
// then execs the job, so the confined process IS the job: it keeps the
// pid the executor recorded, its session and its parent-death signal.
// It returns only when it failed.
func Main(args []string) int {
	// Every setting below that is per thread (seccomp, no_new_privs,
	// the parent-death signal) must be on the thread that calls execve.
	runtime.LockOSThread()
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "sandbox-exec: internal command of the job executor; usage: sandbox-exec SPEC")
		return exitUsage
	}
	s, err := decodeSpec(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-exec:", err)
		return exitUsage
	}
	status := os.NewFile(uintptr(s.StatusFD), "status")
	if s.StatusFD <= 2 || status == nil {
		status = os.Stderr
	} else {
		syscall.CloseOnExec(s.StatusFD)
	}
	if s.Init {
		return runInit(s, status)
	}
	// The exec arguments are converted before the limits are set: under
	// RLIMIT_AS the Go runtime may fail to map memory, and then it
	// aborts instead of returning an error.
	path, err := syscall.BytePtrFromString(s.Path)
	if err != nil {
		fmt.Fprintf(status, "start %q: %v", s.Path, err)
		return exitSetup
	}
	argv, err := syscall.SlicePtrFromStrings(s.Args)
	if err != nil {
		fmt.Fprintf(status, "start %s: arguments: %v", s.Path, err)
		return exitSetup
	}
	envv, err := syscall.SlicePtrFromStrings(s.Env)
	if err != nil {
		fmt.Fprintf(status, "start %s: environment: %v", s.Path, err)
		return exitSetup
	}
	if err := confine(s); err != nil {
		fmt.Fprintf(status, "%v", err)
		return exitSetup
	}
	// Last, with nothing left to allocate: the job's limits.
	if err := setRlimits(s.Rlimits); err != nil {
		fmt.Fprintf(status, "%v", err)
		return exitSetup
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	fmt.Fprintf(status, "start %s: %v", s.Path, errno)
	return exitSetup
}

// confine applies every restriction s asks for to the calling process,
// but its rlimits.
func confine(s *spec) error {
	for _, procs := range s.Cgroups {
		// "0" is the writer itself, whatever pid namespace it is in.
		if err := os.WriteFile(procs, []byte("0"), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	if s.MountNS {
		if err := buildRoot(s); err != nil {
			return fmt.Errorf("private root: %w", err)
		}
	}
	if s.Loopback {
		// Needs the namespace's CAP_NET_ADMIN: before the job's user.
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if s.DropCaps {
		if err := dropCapabilities(); err != nil {
			return err
		}
	}
	if s.UID != 0 {
		if err := becomeUser(s.UID, s.ParentPID); err != nil {
			return err
		}
	}
	if err := os.Chdir(s.Dir); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	// Landlock sets no_new_privs too, but the job must have it even on
	// a kernel without Landlock: no setuid program may undo the rest.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if s.Landlock {
		if err := restrictPaths(s); err != nil {
			return fmt.Errorf("landlock: %w", err)
		}
	}
	if s.Seccomp {
		if err := installSeccomp(s.Loopback); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	return nil
}

// becomeUser drops root for the job's own user and group, with no
// supplementary groups.
func becomeUser(uid, parent int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop groups: %w", err)
	}
	if err := syscall.Setgid(uid); err != nil {
		return fmt.Errorf("set group %d: %w", uid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("set user %d: %w", uid, err)
	}
	// The credential change cleared the parent-death signal.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("parent-death signal: %w", err)
	}
	if os.Getppid() != parent {
		return fmt.Errorf("the executor (pid %d) died while the job started", parent)
	}
	return nil
}
