package sandbox

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Names of the protections the sandbox can put a job under, as recorded on
// the job. Landlock's is "landlock-vN" with the kernel's ABI version.
const (
	ProtNoNewPrivs = "no-new-privs" // no setuid/file-capability gain
	ProtSeccomp    = "seccomp-inet" // sockets other than AF_UNIX, setsid, new namespaces denied
	ProtRlimits    = "rlimits"      // CPU, address space, file size, processes, open files
	ProtSession    = "session"      // own session and process group, killed as one
	ProtUID        = "uid"          // a user id of its own
	ProtNetNS      = "netns"        // a network namespace with no interfaces up
	// What a Loopback job (MPI ranks) gets instead of netns and seccomp-inet.
	ProtNetNSLoopback = "netns-loopback" // a network namespace of its own with only lo up
	ProtSeccompIP     = "seccomp-ip"     // sockets other than AF_UNIX, AF_INET, AF_INET6, setsid, new namespaces denied
	ProtMountNS       = "mountns"        // a private root with only its own and the system paths
	ProtIPCNS         = "ipcns"          // SysV IPC and POSIX queues of its own, gone when it ends
	ProtPIDNS         = "pidns"          // sees only its own processes; a reaping pid 1 ends them all
	ProtCgroupMemory  = "cgroup-memory"  // memory limit for the whole process tree
	ProtCgroupPids    = "cgroup-pids"    // process limit for the whole tree, killed as one
	protLandlock      = "landlock"       // prefix; "landlock" in Require means any ABI
)

// Levels name sets of protections for Config.Require.
var Levels = map[string][]string{
	// basic is what any user gets from a kernel with Landlock and seccomp.
	"basic": {protLandlock, ProtNoNewPrivs, ProtSeccomp, ProtRlimits, ProtSession},
	// strict adds what only root can set up.
	"strict": {protLandlock, ProtNoNewPrivs, ProtSeccomp, ProtRlimits, ProtSession,
		ProtUID, ProtNetNS, ProtMountNS, ProtIPCNS, ProtPIDNS, ProtCgroupMemory, ProtCgroupPids},
}

// host is what New found this host can do.
type host struct {
	root     bool
	landlock int // ABI version, 0 = none
	seccomp  bool
	cg       cgroups
	cgErr    error
}

// probeHost looks at what the host offers; privileged says whether the
// sandbox may use what needs root (and owns a claimed uid range).
func probeHost(cgName string, privileged bool) host {
	h := host{root: privileged && os.Geteuid() == 0, landlock: landlockABI()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		h.seccomp = auditArch() != 0 && strings.Contains(string(b), "\nSeccomp:")
	}
	if h.root {
		h.cg, h.cgErr = probeCgroups(cgName)
	}
	return h
}

// protections lists what h gives every job, in a stable order.
func (h host) protections() []string {
	var p []string
	if h.landlock > 0 {
		p = append(p, protLandlock+"-v"+strconv.Itoa(h.landlock))
	}
	p = append(p, ProtNoNewPrivs)
	if h.seccomp {
		p = append(p, ProtSeccomp)
	}
	p = append(p, ProtRlimits, ProtSession)
	if h.root {
		p = append(p, ProtUID, ProtNetNS, ProtMountNS, ProtIPCNS, ProtPIDNS)
		if h.cg.memory != "" {
			p = append(p, ProtCgroupMemory)
		}
		if h.cg.pids != "" {
			p = append(p, ProtCgroupPids)
		}
	}
	return p
}

// missing checks required names and levels against what is available
// and lists what is not there; an unknown name is an error.
func missing(required, available []string) ([]string, error) {
	var want []string
	for _, r := range required {
		if lv, ok := Levels[r]; ok {
			want = append(want, lv...)
			continue
		}
		if !knownProtection(r) {
			return nil, fmt.Errorf("sandbox: Require: unknown protection %q (accepted: basic, strict, landlock, landlock-vN, %s)",
				r, strings.Join(Levels["strict"][1:], ", "))
		}
		want = append(want, r)
	}
	var out []string
	for _, w := range want {
		if !provides(available, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out, nil
}

func knownProtection(name string) bool {
	if name == protLandlock {
		return true
	}
	if v, ok := strings.CutPrefix(name, protLandlock+"-v"); ok {
		n, err := strconv.Atoi(v)
		return err == nil && n > 0
	}
	return slices.Contains(Levels["strict"], name)
}

// provides reports whether available satisfies want; a Landlock ABI
// satisfies any lower version.
func provides(available []string, want string) bool {
	if slices.Contains(available, want) {
		return true
	}
	wantV := 0
	if want != protLandlock {
		v, ok := strings.CutPrefix(want, protLandlock+"-v")
		if !ok {
			return false
		}
		wantV, _ = strconv.Atoi(v)
	}
	for _, a := range available {
		if v, ok := strings.CutPrefix(a, protLandlock+"-v"); ok {
			if n, _ := strconv.Atoi(v); n >= wantV {
				return true
			}
		}
	}
	return false
}
