package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// arena is what hostile jobs aim at: the executor (this test process)
// and a process of its user, the store's database, another running job's
// uploads, and a TCP and a UDP server on loopback.
type arena struct {
	b        *testBundle
	db       string // a stand-in for the store's database file
	other    *Job
	victim   int // a process of the executor's user, outside any sandbox
	tcp      *net.TCPListener
	udp      *net.UDPConn
	executor int
}

const (
	secretDB     = "secret-db-row"
	secretUpload = "secret-upload"
)

func newArena(t *testing.T) *arena {
	t.Helper()
	_, err := os.Stat("/usr/bin/python3")
	testenv.Need(t, err == nil, "/usr/bin/python3 is missing")
	a := &arena{b: setup(t), executor: os.Getpid()}
	a.db = filepath.Join(a.b.data, "bumpserve.db")
	if err := os.WriteFile(a.db, []byte("SQLite format 3\x00"+secretDB), 0o644); err != nil {
		t.Fatal(err)
	}
	a.other = newJob(t, a.b.data, 2, testLimits)
	if err := os.WriteFile(filepath.Join(a.other.Input, "secret.txt"), []byte(secretUpload), 0o644); err != nil {
		t.Fatal(err)
	}
	victim := exec.Command("/bin/sleep", "300")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	a.victim = victim.Process.Pid
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	a.tcp = ln
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	a.udp = udp
	return a
}

// background runs env's job (a long sleep) until the test ends.
func background(t *testing.T, sb *Sandbox, env *Job) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sb.Run(ctx, exec.Command("/bin/sleep", "300"), env) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(t, 10*time.Second, "the other job is running", func() bool {
		_, err := os.Stat(env.PIDFile)
		return err == nil
	})
}

func py(code string, args ...string) []string {
	return append([]string{"/usr/bin/python3", "-c", code}, args...)
}

// attack is one hostile job: what it runs, and what proves that it failed
// safely (check returns an error saying what got through).
type attack struct {
	name   string
	limits func(*job.Limits)
	argv   func(a *arena, env *Job) []string
	check  func(a *arena, env *Job, out string, err error) error
}

// failed requires the job to fail and its output to hold none of leaks.
func failed(leaks ...string) func(*arena, *Job, string, error) error {
	return func(_ *arena, _ *Job, out string, err error) error {
		for _, l := range leaks {
			if strings.Contains(out, l) {
				return fmt.Errorf("the job got %q", l)
			}
		}
		if err == nil {
			return errors.New("the job succeeded")
		}
		return nil
	}
}

var attacks = []attack{
	{
		name:  "read /etc/shadow",
		argv:  func(*arena, *Job) []string { return py(`print(open("/etc/shadow").read())`) },
		check: failed("root:"),
	},
	{
		name: "read the store's database",
		argv: func(a *arena, _ *Job) []string {
			return py(`print(open(__import__("sys").argv[1]).read())`, a.db)
		},
		check: failed(secretDB),
	},
	{
		name: "read another running job's uploads",
		argv: func(a *arena, _ *Job) []string {
			return py(`print(open(__import__("sys").argv[1]).read())`, filepath.Join(a.other.Input, "secret.txt"))
		},
		check: failed(secretUpload),
	},
	{
		name: "write to /tmp, /var/tmp and the service user's $HOME",
		argv: func(*arena, *Job) []string {
			return py(`
import os, sys
bad = 0
for d in ["/tmp", "/var/tmp", sys.argv[1]]:
    try:
        open(os.path.join(d, "bumpserve-pwned"), "w").write("x"); bad += 1; print("wrote", d)
    except OSError as e:
        print(d, e)
sys.exit(1 if bad == 0 else 0)`, os.Getenv("HOME"))
		},
		check: func(a *arena, env *Job, out string, err error) error {
			for _, d := range []string{"/tmp", "/var/tmp", os.Getenv("HOME")} {
				if _, serr := os.Stat(filepath.Join(d, "bumpserve-pwned")); serr == nil {
					os.Remove(filepath.Join(d, "bumpserve-pwned"))
					return fmt.Errorf("a file landed in %s", d)
				}
			}
			return failed("wrote")(a, env, out, err)
		},
	},
	{
		name: "write into its own input/",
		argv: func(_ *arena, env *Job) []string {
			return py(`open(__import__("sys").argv[1] + "/new", "w").write("x")`, env.Input)
		},
		check: func(a *arena, env *Job, out string, err error) error {
			if _, serr := os.Stat(filepath.Join(env.Input, "new")); serr == nil {
				return errors.New("the job wrote into input/")
			}
			return failed()(a, env, out, err)
		},
	},
	{
		name: "follow a symlink or hard link out of its directory",
		argv: func(a *arena, env *Job) []string {
			return []string{"/bin/sh", "-c", `cd "$1"; ln -s /etc/shadow s; ln -s "$2" d; ln "$2" h; cat s d h`, "sh", env.Output, a.db}
		},
		check: failed("root:", secretDB),
	},
	{
		name: "connect to a TCP port on 127.0.0.1",
		argv: func(a *arena, _ *Job) []string {
			return py(`import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5); print("connected")`,
				strconv.Itoa(a.tcp.Addr().(*net.TCPAddr).Port))
		},
		check: func(a *arena, env *Job, out string, err error) error {
			a.tcp.SetDeadline(time.Now().Add(20 * time.Millisecond))
			if c, aerr := a.tcp.Accept(); aerr == nil {
				c.Close()
				return errors.New("the server got a connection")
			}
			return failed("connected")(a, env, out, err)
		},
	},
	{
		name: "bind and listen on a TCP (and MPTCP) port",
		argv: func(*arena, *Job) []string {
			return py(`
import socket
for proto in (0, 262):  # 262: IPPROTO_MPTCP, which Landlock ABI 7 does not cover
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto); s.bind(("0.0.0.0", 0)); s.listen(); print("listening", proto, s.getsockname())
    except OSError as e:
        print(proto, e)
import sys; sys.exit(1)`)
		},
		check: failed("listening"),
	},
	{
		name: "send a UDP datagram",
		argv: func(a *arena, _ *Job) []string {
			return py(`import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"leak", ("127.0.0.1", int(sys.argv[1]))); print("sent")`,
				strconv.Itoa(a.udp.LocalAddr().(*net.UDPAddr).Port))
		},
		check: func(a *arena, env *Job, out string, err error) error {
			a.udp.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if n, _, rerr := a.udp.ReadFrom(make([]byte, 16)); rerr == nil {
				return fmt.Errorf("the server got a datagram of %d bytes", n)
			}
			return failed("sent")(a, env, out, err)
		},
	},
	{
		name: "create a user namespace to regain capabilities",
		argv: func(*arena, *Job) []string {
			return py(`import ctypes, os; r = ctypes.CDLL(None, use_errno=True).unshare(0x10000000); print("unshare", r, os.strerror(ctypes.get_errno())); exit(r != 0)`)
		},
		check: failed("unshare 0"),
	},
	{
		name:   "fork bomb",
		limits: func(l *job.Limits) { l.Processes = 32 },
		argv: func(_ *arena, env *Job) []string {
			return py(`
import os, sys, time
pids = []
for i in range(1000):
    try:
        pid = os.fork()
    except OSError as e:
        print("fork refused after", len(pids), "children:", e); break
    if pid == 0:
        time.sleep(300); os._exit(0)
    pids.append(pid)
open(sys.argv[1] + "/pidns", "w").write(os.readlink("/proc/self/ns/pid"))
open(sys.argv[1] + "/pids", "w").write(" ".join(map(str, pids)))
sys.exit(1 if len(pids) < 1000 else 0)`, env.Output)
		},
		check: func(a *arena, env *Job, out string, err error) error {
			if !strings.Contains(out, "fork refused") {
				return errors.New("every fork succeeded")
			}
			return allDead(env, "pids")
		},
	},
	{
		name:   "allocate 6 GB",
		limits: func(l *job.Limits) { l.MemoryMB = 512 },
		argv:   func(*arena, *Job) []string { return py(`b = bytearray(6 << 30); print("allocated")`) },
		check:  failed("allocated"),
	},
	{
		// Each process stays under RLIMIT_AS; only the cgroup bounds
		// the sum.
		name:   "allocate 600 MB across four processes",
		limits: func(l *job.Limits) { l.MemoryMB = 256 },
		argv: func(*arena, *Job) []string {
			return py(`
import os, sys
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        b = b"x" * (150 << 20); os._exit(0)
    kids.append(pid)
killed = [os.waitpid(p, 0)[1] & 0x7f for p in kids]
print("children killed by signal:", killed); sys.exit(1 if any(killed) else 0)`)
		},
		check: func(a *arena, env *Job, out string, err error) error {
			if !slices.Contains(a.b.sb.Available(), ProtCgroupMemory) {
				return nil // RLIMIT_AS bounds each process only: nothing to prove
			}
			if err == nil || !strings.Contains(err.Error(), "limit exceeded: memory_mb") {
				return fmt.Errorf("the error does not name the memory limit: %v", err)
			}
			return nil
		},
	},
	{
		name:   "spin the CPU past its limit",
		limits: func(l *job.Limits) { l.CPUSeconds = 1 },
		argv:   func(*arena, *Job) []string { return py(`while True: pass`) },
		check: func(_ *arena, _ *Job, out string, err error) error {
			if err == nil || !strings.Contains(err.Error(), "limit exceeded: cpu_seconds") {
				return fmt.Errorf("the error does not name the CPU limit: %v", err)
			}
			return nil
		},
	},
	{
		name:   "fill the disk past its limit",
		limits: func(l *job.Limits) { l.DiskMB = 1 },
		argv: func(_ *arena, env *Job) []string {
			return []string{"/bin/dd", "if=/dev/zero", "of=" + filepath.Join(env.Output, "big"), "bs=1M", "count=64"}
		},
		check: func(_ *arena, env *Job, out string, err error) error {
			if err == nil || !strings.Contains(err.Error(), "limit exceeded: disk_mb") {
				return fmt.Errorf("the error does not name the disk limit: %v", err)
			}
			if fi, serr := os.Stat(filepath.Join(env.Output, "big")); serr == nil && fi.Size() > 1<<20 {
				return fmt.Errorf("the file grew to %d bytes", fi.Size())
			}
			return nil
		},
	},
	{
		// Each file stays under the per-file cap; only their sum passes
		// disk_mb, and the job would write for ever if not stopped.
		name:   "fill the disk with many files, each under the limit",
		limits: func(l *job.Limits) { l.DiskMB = 2 },
		argv: func(_ *arena, env *Job) []string {
			return py(`
import itertools, os, time
chunk = b"x" * (256 << 10)
for i in itertools.count():
    with open(os.path.join(os.environ["BUMPSERVE_OUTPUT"], "part%d" % i), "wb") as f:
        f.write(chunk)
    time.sleep(0.001)
`)
		},
		check: func(_ *arena, env *Job, out string, err error) error {
			if err == nil || !strings.Contains(err.Error(), "limit exceeded: disk_mb (2 MB)") {
				return fmt.Errorf("the error does not name the disk limit: %v", err)
			}
			return nil
		},
	},
	{
		name: "signal the executor and every process it may",
		argv: func(a *arena, _ *Job) []string {
			return py(`
import os, signal, sys
for pid in map(int, sys.argv[1:]):
    try:
        os.kill(pid, signal.SIGKILL); print("killed", pid)
    except OSError as e:
        print(pid, e)
try:
    os.kill(-1, signal.SIGKILL)
except OSError as e:
    print("-1", e)
sys.exit(1)`, strconv.Itoa(a.executor), strconv.Itoa(a.victim))
		},
		check: func(a *arena, env *Job, out string, err error) error {
			if !proc.Alive(a.victim) {
				return fmt.Errorf("the executor's user's process %d died", a.victim)
			}
			return failed("killed")(a, env, out, err)
		},
	},
	{
		name: "read the executor's environment",
		argv: func(a *arena, _ *Job) []string {
			return py(`print(open("/proc/%s/environ" % __import__("sys").argv[1]).read())`, strconv.Itoa(a.executor))
		},
		check: failed("PATH="),
	},
	{
		// Without an IPC namespace of its own (not root) a job's SysV
		// objects are the host's: nothing to prove then.
		name: "leave SysV shared memory, a message queue and semaphores behind",
		argv: func(_ *arena, env *Job) []string {
			return []string{"/usr/bin/python3", "-c", sysvJob, "create", strconv.Itoa(ipcKey + 16)}
		},
		check: func(a *arena, _ *Job, out string, err error) error {
			if !strings.Contains(out, "created") {
				return fmt.Errorf("the job could not create its objects, so this shows nothing: %v", err)
			}
			if !slices.Contains(a.b.sb.Available(), ProtIPCNS) {
				k := ipcKey + 16 // the host's now: remove them
				exec.Command("ipcrm", "-M", strconv.Itoa(k), "-Q", strconv.Itoa(k+1), "-S", strconv.Itoa(k+2)).Run()
				return nil
			}
			if onHost(strconv.Itoa(ipcKey + 16)) {
				return errors.New("the job's IPC objects outlived it in the host's namespace")
			}
			return nil
		},
	},
	{
		name: "list the host's processes",
		argv: func(*arena, *Job) []string {
			return py(`
import os
for p in os.listdir("/proc"):
    if p.isdigit():
        try: print("sees", p, open("/proc/%s/comm" % p).read().strip())
        except OSError: pass`)
		},
		check: func(a *arena, _ *Job, out string, err error) error {
			if !slices.Contains(a.b.sb.Available(), ProtPIDNS) {
				return nil // without root a job sees its user's neighbours
			}
			for line := range strings.Lines(out) {
				if f := strings.Fields(line); len(f) == 3 && f[2] != "python3" {
					return fmt.Errorf("the job sees %s", strings.TrimSpace(line))
				}
			}
			if !strings.Contains(out, "python3") {
				return errors.New("the job saw not even itself: this shows nothing")
			}
			return nil
		},
	},
	{
		name: "leave a daemon running (setsid, double fork)",
		argv: func(_ *arena, env *Job) []string {
			return py(`
import os, sys, time
out = sys.argv[1]
if os.fork() == 0:
    try:
        os.setsid(); print("setsid worked")
    except OSError as e:
        print("setsid:", e)
    sys.stdout.flush()
    if os.fork() == 0:
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2): os.dup2(null, fd)
        open(out + "/pidns", "w").write(os.readlink("/proc/self/ns/pid"))
        open(out + "/pids", "w").write(str(os.getpid()))
        time.sleep(300)
    os._exit(0)
os.wait()
while not os.path.exists(out + "/pids"): time.sleep(0.01)
print("left a daemon")`, env.Output)
		},
		check: func(_ *arena, env *Job, out string, err error) error {
			return allDead(env, "pids")
		},
	},
}

// allDead requires every pid the job listed in output/name to be gone
// (the kill is asynchronous: poll for it). Under a pid namespace those
// pids are the namespace's own: then no process may be left in the
// namespace the job named in output/pidns.
func allDead(env *Job, name string) error {
	b, err := os.ReadFile(filepath.Join(env.Output, name))
	if err != nil {
		return fmt.Errorf("the job listed no pids: %w", err)
	}
	ns, _ := os.ReadFile(filepath.Join(env.Output, "pidns"))
	if own, _ := os.Readlink("/proc/self/ns/pid"); len(ns) > 0 && string(ns) != own {
		deadline := time.Now().Add(5 * time.Second)
		for {
			left := inPIDNamespace(string(ns))
			if len(left) == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("processes %v outlived their job's pid namespace %s", left, ns)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		for proc.Alive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d outlived its job", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// inPIDNamespace lists the live host processes in pid namespace ns (as
// readlink /proc/PID/ns/pid shows it: "pid:[INODE]").
func inPIDNamespace(ns string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns && proc.Alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestHostile runs each attack as a job and requires it to fail safely,
// with the executor (this process) and its user's other processes alive
// and able to run the next job.
func TestHostile(t *testing.T) {
	a := newArena(t)
	background(t, a.b.sb, a.other)
	for i, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			t.Parallel()
			l := testLimits
			if at.limits != nil {
				at.limits(&l)
			}
			env := newJob(t, a.b.data, 10+i, l)
			out, err := runIn(t, a.b.sb, env, at.argv(a, env)...)
			if cerr := at.check(a, env, out, err); cerr != nil {
				t.Fatalf("attack got through: %v\nerror: %v\noutput:\n%s", cerr, err, out)
			}
			t.Logf("outcome: %s", reason(out, err))
		})
	}
	t.Cleanup(func() {
		if !proc.Alive(a.victim) {
			t.Error("the executor's user's process died")
		}
		if out, err := a.b.run(t, "/bin/echo", "still here"); err != nil || !strings.Contains(out, "still here") {
			t.Errorf("the executor cannot run a job after the attacks: %v\n%s", err, out)
		}
	})
}

// reason condenses how an attack ended for the test log: the error and
// the last lines of output.
func reason(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return fmt.Sprintf("err=%v; output: %s", err, strings.Join(lines, " | "))
}
