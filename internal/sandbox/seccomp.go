package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter closes what Landlock at ABI 7 leaves open and what
// would let a job leave its process group:
//   - socket() of any family but AF_UNIX fails with EACCES: no UDP, no
//     MPTCP, no raw or packet sockets, whatever the Landlock ABI;
//   - setsid() and setpgid() fail with EPERM, so every process the job
//     starts stays in the job's process group, and killing that group
//     (the executor does, at the end and on cancel) kills them all even
//     without cgroups;
//   - new namespaces (unshare, clone with CLONE_NEW*) and clone3 (whose
//     flags a filter cannot read; libc falls back to clone on ENOSYS);
//   - io_uring, which performs socket and file operations the filter
//     never sees, and a few kernel interfaces jobs never need.
// A syscall of another architecture (32-bit x86 on x86-64, x32) is denied.

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retKill  = unix.SECCOMP_RET_KILL_PROCESS
)

func retErrno(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e)&unix.SECCOMP_RET_DATA }

// auditArch is this build's AUDIT_ARCH value; 0 where no filter is built.
func auditArch() uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64
	}
	return 0
}

// Offsets in struct seccomp_data; an argument's low 32 bits come first
// on the little-endian architectures above.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16
)

const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// deniedSyscalls fail outright with the given errno.
var deniedSyscalls = []struct {
	nr    uint32
	errno unix.Errno
}{
	{unix.SYS_SETSID, unix.EPERM},
	{unix.SYS_SETPGID, unix.EPERM},
	{unix.SYS_UNSHARE, unix.EPERM},
	{unix.SYS_CLONE3, unix.ENOSYS},
	{unix.SYS_IO_URING_SETUP, unix.EPERM},
	{unix.SYS_BPF, unix.EPERM},
	{unix.SYS_USERFAULTFD, unix.EPERM},
	{unix.SYS_PERF_EVENT_OPEN, unix.EPERM},
	{unix.SYS_KEYCTL, unix.EPERM},
	{unix.SYS_ADD_KEY, unix.EPERM},
	{unix.SYS_REQUEST_KEY, unix.EPERM},
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// seccompProgram assembles the filter described above; ip also allows
// AF_INET and AF_INET6 sockets, for a job in a network namespace of its
// own where they reach only the job's processes (spec Loopback).
func seccompProgram(ip bool) ([]unix.SockFilter, error) {
	arch := auditArch()
	if arch == 0 {
		return nil, fmt.Errorf("no filter for %s", runtime.GOARCH)
	}
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	p := []unix.SockFilter{
		stmt(ld, offArch),
		jump(jeq, arch, 1, 0),
		stmt(ret, retKill),
		stmt(ld, offNr),
	}
	if runtime.GOARCH == "amd64" {
		p = append(p, jump(jge, 0x40000000, 0, 1), stmt(ret, retErrno(unix.ENOSYS))) // x32
	}
	for _, d := range deniedSyscalls {
		p = append(p, jump(jeq, d.nr, 0, 1), stmt(ret, retErrno(d.errno)))
	}
	p = append(p,
		// clone(flags, ...): no new namespaces.
		jump(jeq, unix.SYS_CLONE, 0, 4),
		stmt(ld, offArg0),
		jump(jset, nsFlags, 0, 1),
		stmt(ret, retErrno(unix.EPERM)),
		stmt(ret, retAllow),
	)
	families := []uint32{unix.AF_UNIX}
	if ip {
		families = append(families, unix.AF_INET, unix.AF_INET6)
	}
	// socket(family, ...): the families above only.
	p = append(p, jump(jeq, unix.SYS_SOCKET, 0, uint8(len(families)+2)), stmt(ld, offArg0))
	for i, f := range families {
		p = append(p, jump(jeq, f, uint8(len(families)-i), 0))
	}
	return append(p,
		stmt(ret, retErrno(unix.EACCES)),
		stmt(ret, retAllow),
	), nil
}

// installSeccomp loads the filter on the calling thread, the one that
// will exec the job (the helper locks itself to it). no_new_privs must
// already be set.
func installSeccomp(ip bool) error {
	p, err := seccompProgram(ip)
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(p)), Filter: &p[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return err
	}
	runtime.KeepAlive(p)
	return nil
}
