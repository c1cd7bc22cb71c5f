package sandbox

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// nsUIDs is the range of the namespace tests' own sandbox: with a range
// of two ids a job that follows another gets its uid back.
var nsUIDs = [2]int{64100, 64101}

// ipcKey is the SysV key the IPC test's jobs use (shm; +1 message queue,
// +2 semaphore set).
const ipcKey = 0x62756d70

// sysvJob creates (with "create"; "hold" then waits) or looks up
// (with "look") a shared memory segment, a message queue and a
// semaphore set, readable and writable by anyone, and says what it saw.
const sysvJob = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
K, CREAT = int(sys.argv[2]), 0o1000
print("uid", os.getuid())
if sys.argv[1] in ("create", "hold"):
    shm = libc.shmget(K, 4096, CREAT | 0o666)
    ctypes.memmove(libc.shmat(shm, None, 0), b"secret-in-shm", 13)
    ids = (shm, libc.msgget(K + 1, CREAT | 0o666), libc.semget(K + 2, 1, CREAT | 0o666))
    if min(ids) < 0:
        print("create failed", ids, os.strerror(ctypes.get_errno())); sys.exit(1)
    print("created", ids); sys.stdout.flush()
    open(os.environ["BUMPSERVE_OUTPUT"] + "/ready", "w").close()
    if sys.argv[1] == "hold":
        time.sleep(300)
    sys.exit(0)
found = [libc.shmget(K, 0, 0), libc.msgget(K + 1, 0), libc.semget(K + 2, 0, 0)]
print("found", found)
for kind in ("shm", "msg", "sem"):
    print(kind, "entries", len(open("/proc/sysvipc/" + kind).read().splitlines()) - 1)
`

// TestIPCNamespace: SysV shared memory, message queues and semaphores a
// job creates are invisible to a job running beside it and to the next
// job under the same (recycled) uid, and gone from the host once the
// job ends.
func TestIPCNamespace(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "IPC namespaces need root")
	t.Parallel()
	sb := newSandbox(t, Config{UIDs: nsUIDs})
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	key := strconv.Itoa(ipcKey)
	holder := newJob(t, data, 1, testLimits)
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan string, 1)
	go func() {
		var out strings.Builder
		cmd := exec.Command("/usr/bin/python3", "-c", sysvJob, "hold", key)
		cmd.Stdout, cmd.Stderr = &out, &out
		sb.Run(ctx, cmd, holder)
		held <- out.String()
	}()
	defer func() { cancel(); <-held }()
	testenv.Eventually(t, 20*time.Second, "the first job created its IPC objects", func() bool {
		_, err := os.Stat(filepath.Join(holder.Output, "ready"))
		return err == nil
	})
	if onHost(key) {
		t.Fatal("the host's IPC namespace holds the job's objects")
	}

	beside := newJob(t, data, 2, testLimits)
	out, err := runIn(t, sb, beside, "/usr/bin/python3", "-c", sysvJob, "look", key)
	if err != nil || !strings.Contains(out, "found [-1, -1, -1]") || !strings.Contains(out, "shm entries 0") {
		t.Fatalf("a job beside the holder saw its objects (%v):\n%s", err, out)
	}
	cancel()
	first := <-held
	held <- first // for the deferred receive

	if onHost(key) {
		t.Fatal("the job's IPC objects survived it on the host")
	}
	// Both ids are free again: the next job gets one of them back.
	next := newJob(t, data, 3, testLimits)
	out, err = runIn(t, sb, next, "/usr/bin/python3", "-c", sysvJob, "look", key)
	if err != nil || !strings.Contains(out, "found [-1, -1, -1]") {
		t.Fatalf("the next job saw the ended job's objects (%v):\n%s", err, out)
	}
	if uidOf(first) == "" || (uidOf(out) != uidOf(first) && uidOf(out) != strconv.Itoa(nsUIDs[1])) {
		t.Fatalf("the jobs ran as uids %q and %q, not from %v", uidOf(first), uidOf(out), nsUIDs)
	}
}

func uidOf(out string) string {
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "uid "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// onHost reports whether the host's IPC namespace has any object with
// key (decimal) or the two keys after it.
func onHost(key string) bool {
	k, _ := strconv.Atoi(key)
	for _, kind := range []string{"shm", "msg", "sem"} {
		b, _ := os.ReadFile("/proc/sysvipc/" + kind)
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			for i := range 3 {
				if len(f) > 0 && f[0] == strconv.Itoa(k+i) {
					return true
				}
			}
		}
	}
	return false
}

// pidJob starts a background sleep and an orphan that exits at once,
// then reports its own pid, every process it can see, and whether the
// orphan was reaped (a zombie nobody waits for stays in /proc).
const pidJob = `
import os, subprocess, sys, time
bg = subprocess.Popen(["/bin/sleep", "300"])
r, w = os.pipe()
go_r, go_w = os.pipe()
if os.fork() == 0:
    g = os.fork()
    if g == 0:
        os.read(go_r, 1); os._exit(0)
    os.write(w, str(g).encode() + b"\n"); os._exit(0)
os.wait()
g = int(os.read(r, 32).split()[0]); os.write(go_w, b"x")
for _ in range(500):
    try:
        if open("/proc/%d/stat" % g).read().split(") ")[1][0] != "Z":
            time.sleep(0.01); continue
    except (FileNotFoundError, ProcessLookupError):
        print("orphan reaped"); break
    time.sleep(0.01)
print("pid", os.getpid())
print("pidns", os.readlink("/proc/self/ns/pid"))
for p in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):
    print("sees", p, open("/proc/%d/comm" % p).read().strip())
print(subprocess.run(["ps", "-e", "-o", "pid=,comm="], capture_output=True, text=True).stdout)
bg.kill()
`

// TestPIDNamespace: a job runs in a pid namespace whose pid 1, the
// sandbox helper, reaps orphans; it sees only its own processes (by
// /proc and by ps), and its pid 1 passes SIGTERM on and exits with the
// job's status.
func TestPIDNamespace(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "pid namespaces need root")
	_, err := exec.LookPath("ps")
	testenv.Need(t, err == nil, "ps (procps) is missing")
	t.Parallel()
	b := setup(t)
	out, err := b.run(t, "/usr/bin/python3", "-c", pidJob)
	if err != nil {
		t.Fatalf("job failed: %v\n%s", err, out)
	}
	host, _ := os.Readlink("/proc/self/ns/pid")
	if strings.Contains(out, "pidns "+host+"\n") || !strings.Contains(out, "pidns pid:[") {
		t.Errorf("the job is not in a pid namespace of its own (the host's is %s):\n%s", host, out)
	}
	if !strings.Contains(out, "orphan reaped") {
		t.Errorf("pid 1 left the orphan a zombie:\n%s", out)
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "sees" && f[2] != "python3" && f[2] != "sleep" && f[2] != "ps" {
			t.Errorf("the job sees a process not its own: %s", line)
		}
		if len(f) == 2 && f[0] != "pid" && f[0] != "pidns" {
			if n, err := strconv.Atoi(f[0]); err == nil && (n > 100 || f[1] != "python3" && f[1] != "sleep" && f[1] != "ps") {
				t.Errorf("ps in the job shows a process not its own: %s", line)
			}
		}
	}
	if !regexp.MustCompile(`(?m)^sees \d+ python3$`).MatchString(out) {
		t.Errorf("/proc in the job does not show the job itself:\n%s", out)
	}

	// Exit status passes through pid 1.
	out, err = b.run(t, "/bin/sh", "-c", "exit 7")
	if err == nil || err.Error() != "exit status 7" {
		t.Errorf("a job that exits 7 ended with %v (%s)", err, out)
	}

	// SIGTERM to pid 1 reaches the job, which may still end cleanly.
	env := newJob(t, b.data, 2, testLimits)
	done := make(chan error, 1)
	go func() {
		_, err := runIn(t, b.sb, env, "/bin/sh", "-c",
			`trap 'echo got TERM > "$BUMPSERVE_OUTPUT/term"; exit 3' TERM; touch "$BUMPSERVE_OUTPUT/ready"; while :; do sleep 0.05; done`)
		done <- err
	}()
	testenv.Eventually(t, 20*time.Second, "the job is ready", func() bool {
		_, err := os.Stat(filepath.Join(env.Output, "ready"))
		return err == nil
	})
	rec, err := proc.ReadRecord(env.PIDFile)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(rec.PID, syscall.SIGTERM)
	if err := <-done; err == nil || err.Error() != "exit status 3" {
		t.Errorf("the job ended with %v after SIGTERM to its pid 1, want exit status 3", err)
	}
	if b, _ := os.ReadFile(filepath.Join(env.Output, "term")); string(b) != "got TERM\n" {
		t.Errorf("the job's trap did not run: %q", b)
	}
}

// TestUIDClaim: a range overlapping one a live sandbox holds is refused
// with a message naming the holder and the setting; a disjoint range is
// not; a closed sandbox's range, and a dead holder's, can be claimed.
func TestUIDClaim(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "uid ranges are claimed as root")
	t.Parallel()
	dir := t.TempDir()
	cfg := func(lo, hi int) Config {
		return Config{UIDs: [2]int{lo, hi}, ClaimDir: dir, UIDsName: "--sandbox-uids",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	first, err := New(cfg(64200, 64209))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{64200, 64209}, {64205, 64300}, {64100, 64200}} {
		sb, err := New(cfg(r[0], r[1]))
		if err == nil {
			sb.Close()
			t.Fatalf("range %v overlapping a held one was claimed", r)
		}
		for _, want := range []string{"pid " + strconv.Itoa(os.Getpid()) + " (", "--sandbox-uids", "64200-64209"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not name %q", err, want)
			}
		}
	}
	beside, err := New(cfg(64210, 64219))
	if err != nil {
		t.Fatalf("a disjoint range was refused: %v", err)
	}
	beside.Close()
	first.Close()
	again, err := New(cfg(64200, 64209))
	if err != nil {
		t.Fatalf("a closed sandbox's range stays taken: %v", err)
	}
	again.Close()
	// A holder that died left its file, unlocked.
	if err := os.WriteFile(filepath.Join(dir, "64200-64209"), []byte("pid 1 (gone)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale, err := New(cfg(64200, 64209))
	if err != nil {
		t.Fatalf("a dead holder's range stays taken: %v", err)
	}
	stale.Close()
}

// TestExecutorFilesStayItsOwn: a file the executor made in the job's
// output (its job log) is not given to the job, which cannot write it;
// a file an earlier job made there is given to the next.
func TestExecutorFilesStayItsOwn(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "job users need root")
	t.Parallel()
	b := setup(t)
	b.env = newJob(t, b.data, 3, testLimits)
	logFile := filepath.Join(b.env.Output, "job.log")
	if err := os.WriteFile(logFile, []byte("root's line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	earlier := filepath.Join(b.env.Output, "earlier.txt")
	if err := os.WriteFile(earlier, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(earlier, nsUIDs[1]+1000, nsUIDs[1]+1000); err != nil {
		t.Fatal(err)
	}
	out, err := b.run(t, "/bin/sh", "-c", `echo forged >> "$BUMPSERVE_OUTPUT/job.log" && echo wrote the log; echo mine > "$BUMPSERVE_OUTPUT/earlier.txt" && echo wrote earlier`)
	if strings.Contains(out, "wrote the log") {
		t.Errorf("the job wrote the executor's log (%v):\n%s", err, out)
	}
	if got, _ := os.ReadFile(logFile); string(got) != "root's line\n" {
		t.Errorf("job.log = %q", got)
	}
	if !strings.Contains(out, "wrote earlier") {
		t.Errorf("the job cannot write a file an earlier job made (%v):\n%s", err, out)
	}
}
