package slurm

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
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

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// These tests run jobs through a real Slurm (scripts/slurm-start starts a
// single-node one on localhost); the compute node runs the bumpserve
// binary built once here.
var (
	bin      string
	buildErr error
	slurmUp  bool
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait for Slurm, and the slowest (a real TIMEOUT)
	// takes over a minute: run them all at once rather than GOMAXPROCS
	// at a time, unless -parallel says otherwise.
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "16")
	}
	out, _ := exec.Command("scontrol", "ping").Output()
	slurmUp = strings.Contains(string(out), "is UP")
	tmp, err := os.MkdirTemp("", "bumpserve-slurm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if slurmUp {
		bin = filepath.Join(tmp, "bumpserve")
		build := exec.Command("go", "build", "-o", bin, "./cmd/bumpserve")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build bumpserve for the compute node: %v\n%s", err, out)
		}
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// needSlurm skips (fails in CI) without a running Slurm, and fails if the
// binary for the compute node did not build.
func needSlurm(t *testing.T) {
	t.Helper()
	testenv.Need(t, slurmUp, "a running Slurm: run scripts/slurm-start as root")
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// bundle is a controller whose slots run jobs through Slurm.
type bundle struct {
	env *testenv.Env
	c   *client.Client
	ex  *Executor
}

// setup starts a controller with a Slurm executor of cfg and slots CPUs.
func setup(t *testing.T, cfg Config, slots int) *bundle {
	t.Helper()
	t.Parallel()
	needSlurm(t)
	cfg.Bin = cmp.Or(cfg.Bin, bin)
	cfg.Poll = cmp.Or(cfg.Poll, 200*time.Millisecond)
	cfg.ExitGrace = cmp.Or(cfg.ExitGrace, 2*time.Second)
	cfg.CancelWait = cmp.Or(cfg.CancelWait, 30*time.Second)
	cfg.Logger = testLogger()
	ex, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, controller.Config{Executor: ex, Workers: slots, Drain: time.Second})
	return &bundle{env: env, c: env.Client(env.AdminToken), ex: ex}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (b *bundle) submit(t *testing.T, service, spec string) *client.Job {
	t.Helper()
	j, err := b.c.Submit(context.Background(), client.Submission{Service: service, Spec: json.RawMessage(spec)}, nil)
	if err != nil {
		t.Fatalf("submit %s %s: %v", service, spec, err)
	}
	return j
}

// wait waits for job id to end.
func (b *bundle) wait(t *testing.T, id int64, timeout time.Duration) *client.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	j, err := b.c.Watch(ctx, id, func(*client.Job) error { return nil })
	if err != nil {
		sq, _ := exec.Command("squeue", "-t", "all").CombinedOutput()
		log, _ := os.ReadFile(filepath.Join(b.dir(id), "output", "job.log"))
		t.Fatalf("job %d did not end within %v: %v\nsqueue:\n%s\njob.log:\n%s", id, timeout, err, sq, log)
	}
	return j
}

func (b *bundle) dir(id int64) string { return string(b.env.C.Root.Job(id)) }

// slurmID waits until job id has been submitted to Slurm and returns its
// Slurm job id.
func (b *bundle) slurmID(t *testing.T, id int64) string {
	t.Helper()
	var sub submission
	testenv.Eventually(t, 30*time.Second, "job submitted to Slurm", func() bool {
		return jobdir.ReadJSON(filepath.Join(b.dir(id), slurmFile), &sub) == nil
	})
	return sub.SlurmID
}

// slurmState is Slurm's state of a job ("" once it forgot it).
func slurmState(id string) string {
	out, _ := exec.Command("squeue", "-h", "-t", "all", "-o", "%T", "-j", id).Output()
	return strings.TrimSpace(string(out))
}

// awaitStarted waits until Slurm runs job sid or has run it: a short job
// may be over before a busy test looks.
func awaitStarted(t *testing.T, sid string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "Slurm job "+sid+" started", func() bool {
		switch slurmState(sid) {
		case "RUNNING", "COMPLETING", "COMPLETED":
			return true
		}
		return false
	})
}

// awaitRunning waits until Slurm runs job sid.
func awaitRunning(t *testing.T, sid string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "Slurm job "+sid+" RUNNING", func() bool { return slurmState(sid) == "RUNNING" })
}

func wantState(t *testing.T, j *client.Job, state job.State, reason string) {
	t.Helper()
	t.Logf("job %d ended %s %q", j.ID, j.State, j.Reason)
	if j.State != state || !strings.Contains(j.Reason, reason) {
		t.Fatalf("job %d ended %s %q; want %s with a reason containing %q", j.ID, j.State, j.Reason, state, reason)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
