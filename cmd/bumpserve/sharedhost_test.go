package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestServersSharingAHost runs several bumpserve processes on this host
// as root: a worker given the uid range a running server holds refuses
// to start, naming the holder and the flag; a second server on a
// disjoint range starts while the first one's job runs, and both run
// their jobs to the end; the first server makes its cgroups again when
// they are removed underneath it, and removes them, and its claim, when
// it shuts down.
func TestServersSharingAHost(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "uid ranges and cgroups are the root executor's")
	t.Parallel()
	rangeA := uidRange()
	a := startServer(t, t.TempDir(), "--workers", "1", "--sandbox-uids", rangeA)
	clA, _ := client.New(a.URL, a.adminToken(), client.Options{})
	long := submitSleeps(t, clA, 1, `{"seconds": 4, "exec": true}`)

	// The same range, from a worker: refused, naming the holder.
	w := exec.Command(binary, "worker", "--server", a.URL, "--token", a.adminToken(), "--name", "clash",
		"--work-dir", t.TempDir(), "--sandbox-uids", rangeA)
	out, err := w.CombinedOutput()
	if code := w.ProcessState.ExitCode(); err == nil || code != 2 {
		t.Fatalf("a worker on a held range exited %d (%v), want 2:\n%s", code, err, out)
	}
	t.Logf("refusal: %s", out)
	for _, want := range []string{"--sandbox-uids", "pid " + strconv.Itoa(a.Cmd.Process.Pid), a.Data} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the refusal does not name %q:\n%s", want, out)
		}
	}

	// A worker's range, from a server: refused, naming the worker but
	// not the token on its command line.
	rangeW := uidRange()
	wp := startWorkerArgs(t, a.URL, a.adminToken(), "holder", 1, "--sandbox-uids", rangeW)
	wp.WaitLog(t, regexp.MustCompile(`msg="worker started"`), 30*time.Second)
	srv := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--sandbox-uids", rangeW)
	out, err = srv.CombinedOutput()
	if code := srv.ProcessState.ExitCode(); err == nil || code != 2 {
		t.Fatalf("a server on a worker's range exited %d (%v), want 2:\n%s", code, err, out)
	}
	if !strings.Contains(string(out), "pid "+strconv.Itoa(wp.Cmd.Process.Pid)+" (bumpserve worker") ||
		strings.Contains(string(out), a.adminToken()) {
		t.Errorf("the refusal does not name the worker, or shows its token:\n%s", out)
	}

	// A disjoint range, from a second server, while A's job runs.
	b := startServer(t, t.TempDir(), "--workers", "1")
	clB, _ := client.New(b.URL, b.adminToken(), client.Options{})
	short := submitSleeps(t, clB, 2, `{"seconds": 0.5, "exec": true}`)
	for _, r := range []struct {
		cl  *client.Client
		ids []int64
	}{{clA, long}, {clB, short}} {
		for id, j := range waitAll(t, r.cl, r.ids, 60*time.Second) {
			if j.State != job.Complete {
				t.Errorf("job %d ended %s: %s", id, j.State, j.Reason)
			}
		}
	}

	// A's cgroups, removed underneath it, are made again for its next job.
	parents := ownCgroups(t, a.Cmd.Process.Pid, rangeA)
	for _, d := range parents {
		if err := os.Remove(d); err != nil {
			t.Fatalf("remove %s: %v", d, err)
		}
	}
	for id, j := range waitAll(t, clA, submitSleeps(t, clA, 1, `{"seconds": 0.2, "exec": true}`), 60*time.Second) {
		if j.State != job.Complete {
			t.Errorf("after its cgroups were removed, job %d ended %s: %s", id, j.State, j.Reason)
		}
	}
	for _, d := range parents {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("cgroup %s was not made again: %v", d, err)
		}
	}

	// Shutdown removes A's cgroups and its claim on the range.
	a.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.Ended:
	case <-time.After(60 * time.Second):
		t.Fatal("server A did not stop on SIGTERM")
	}
	for _, d := range append(parents, filepath.Join("/run/bumpserve/uids", rangeA)) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is left after server A shut down", d)
		}
	}
}

// ownCgroups lists the parent cgroups server pid made for uid range r,
// in every hierarchy it uses.
func ownCgroups(t *testing.T, pid int, r string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	name := "bumpserve-" + r + "-pid" + strconv.Itoa(pid)
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, ctrl := range []string{"memory", "pids", ""} {
			hier := ctrl
			if ctrl == "" && f[0] == "0" {
				hier = "unified" // hybrid; on pure v2 the tree is the root
				if _, err := os.Stat("/sys/fs/cgroup/unified"); err != nil {
					hier = ""
				}
			} else if ctrl == "" || !strings.Contains(","+f[1]+",", ","+ctrl+",") {
				continue
			}
			d := filepath.Join("/sys/fs/cgroup", hier, f[2], name)
			if _, err := os.Stat(d); err == nil {
				out = append(out, d)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("server %d made no cgroup %s", pid, name)
	}
	return out
}
