package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// crashUIDs is the range of the executor this test kills; its own, since
// New sweeps the cgroups of its range.
var crashUIDs = [2]int{64000, 64009}

// testExecutor is a stand-in executor (this test binary run as
// `test-executor DIR`): it runs one confined job whose shell leaves a
// background sleep, and waits for ever.
func testExecutor(dir string) int {
	sb, err := New(Config{UIDs: crashUIDs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := &Job{
		Input: filepath.Join(dir, "input"), Output: filepath.Join(dir, "output"), Temp: filepath.Join(dir, "tmp"),
		Limits: testLimits, PIDFile: filepath.Join(dir, "proc.json"),
	}
	cmd := exec.Command("/bin/sh", "-c", `sleep 300 & echo $! > "$BUMPSERVE_OUTPUT/pids"; wait`)
	err = sb.Run(context.Background(), cmd, env)
	fmt.Fprintln(os.Stderr, "the job ended:", err)
	return 1
}

// TestExecutorCrash kills an executor while its job runs: the job's
// process dies with it (parent-death signal, set again after the change
// of user). As root the job's pid 1 dies the same way and the kernel ends
// its whole pid namespace, background process included, and the next
// sandbox on the same UID range removes the cgroups left behind; without
// root the background process, which nothing killed, is swept through
// the pid file (its process group).
func TestExecutorCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, sub := range []string{"input", "output", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe := exec.Command(os.Args[0], "test-executor", dir)
	exe.Stderr = os.Stderr
	if err := exe.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, the stand-in executor must not outlive the test:
	// it holds our stderr, and its job waits 300 s.
	t.Cleanup(func() { exe.Process.Kill(); exe.Wait() })
	var bg, job int
	testenv.Eventually(t, 10*time.Second, "the job started its background sleep", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "output", "pids"))
		bg, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && bg > 0
	})
	// The executor records the job after starting it, so the job may get
	// this far first.
	testenv.Eventually(t, 10*time.Second, "the executor recorded the job", func() bool {
		rec, err := os.ReadFile(filepath.Join(dir, "proc.json"))
		if err != nil {
			return false
		}
		fmt.Sscanf(string(rec), `{"pid":%d`, &job)
		return job > 0
	})
	root := os.Geteuid() == 0
	var parents, jobProcs []string
	if root {
		// The job's pids are its namespace's: find its processes by
		// their cgroup instead, as the host sees them.
		name := parentName(crashUIDs[0], crashUIDs[1])
		name = strings.Replace(name, "pid"+strconv.Itoa(os.Getpid()), "pid"+strconv.Itoa(exe.Process.Pid), 1)
		for _, d := range []string{sharedSandbox(t).host.cg.memory, sharedSandbox(t).host.cg.pids} {
			parents = append(parents, filepath.Join(filepath.Dir(d), name))
		}
		for _, pid := range members(filepath.Join(parents[1], "job-"+strconv.Itoa(crashUIDs[0]))) {
			jobProcs = append(jobProcs, strconv.Itoa(pid))
		}
		if len(jobProcs) < 2 {
			t.Fatalf("the job's cgroup holds %v, not its shell and its sleep", jobProcs)
		}
	}
	exe.Process.Kill()
	exe.Wait()

	testenv.Eventually(t, 5*time.Second, "the job died with its executor", func() bool { return !proc.Alive(job) })
	if root {
		testenv.Eventually(t, 5*time.Second, "the job's namespace died with its pid 1", func() bool {
			for _, p := range jobProcs {
				if pid, _ := strconv.Atoi(p); proc.Alive(pid) {
					return false
				}
			}
			return true
		})
		newSandbox(t, Config{UIDs: crashUIDs}) // sweeps at start
		for _, d := range parents {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("the crashed executor's cgroup %s is still there", d)
			}
		}
		return
	}
	if !proc.Alive(bg) {
		t.Fatalf("the background process %d died without a sweep: this test shows nothing", bg)
	}
	if _, err := proc.Sweep(filepath.Join(dir, "proc.json")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "the sweep killed the background process", func() bool { return !proc.Alive(bg) })
}
