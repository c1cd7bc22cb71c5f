package sandbox

import (
	"fmt"
	"os"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// MPIPaths are the read-only paths a Loopback job also sees: the
// configuration of Debian's OpenMPI and PMIx, without which mpirun
// still starts but with its compiled-in defaults only.
var MPIPaths = []string{"/etc/openmpi", "/etc/pmix", "/etc/pmix-mca-params.conf"}

// loopbackUp brings up lo in the calling process's network namespace,
// which the executor made for this job alone (spec Loopback).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: read flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: bring lo up: %w", err)
	}
	return nil
}

// dropCapabilities empties the bounding set and then every set of the
// calling process, so that the job, which the helper execs as root of
// its own user namespace, has no capability at all, even there.
func dropCapabilities() error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("drop capabilities: %w", err)
	}
	return nil
}

// loopbackAttr sets up attr to clone the network namespace of a Loopback
// job that the sandbox runs without a uid of its own (unprivileged, or
// told to be): as root, the namespace alone; otherwise inside a user
// namespace that maps only this process's user and group, as root of
// which the helper may bring lo up. It says whether the helper must then
// drop that root's capabilities.
func loopbackAttr(attr *syscall.SysProcAttr) (dropCaps bool) {
	attr.Cloneflags |= syscall.CLONE_NEWNET
	if os.Geteuid() == 0 {
		return false
	}
	attr.Cloneflags |= syscall.CLONE_NEWUSER
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	attr.GidMappingsEnableSetgroups = false
	return true
}

// protectionsOf is what a job gets of the host's protections prot: a
// Loopback job has a network namespace in any case, with lo up, and
// seccomp lets its IP sockets through.
func protectionsOf(prot []string, loopback bool) []string {
	out := slices.Clone(prot)
	if !loopback {
		return out
	}
	out = slices.DeleteFunc(out, func(p string) bool { return p == ProtNetNS })
	for i, p := range out {
		if p == ProtSeccomp {
			out[i] = ProtSeccompIP
		}
	}
	return append(out, ProtNetNSLoopback)
}
