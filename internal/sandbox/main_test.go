package sandbox

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// TestMain makes the test binary its own confining helper, as the
// bumpserve binary is in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sandbox-exec" {
		os.Exit(Main(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == "test-executor" {
		os.Exit(testExecutor(os.Args[2]))
	}
	code := m.Run()
	if shared.sb != nil {
		shared.sb.Close()
	}
	os.Exit(code)
}

// testBundle is one sandbox and one job's directories laid out as the
// executor lays them out (the data dir is 0700, as in production).
type testBundle struct {
	sb   *Sandbox
	data string
	env  *Job
}

// newSandbox returns a sandbox with the test binary as helper.
func newSandbox(t testing.TB, cfg Config) *Sandbox {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// newJob makes job id's directories under data with limits l.
func newJob(t testing.TB, data string, id int, l job.Limits) *Job {
	t.Helper()
	dir := filepath.Join(data, "jobs", strconv.Itoa(id))
	for _, sub := range []string{"input", "output", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(data, "jobs"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &Job{
		Input: filepath.Join(dir, "input"), Output: filepath.Join(dir, "output"), Temp: filepath.Join(dir, "tmp"),
		Limits: l, PIDFile: filepath.Join(dir, "proc.json"),
	}
}

// shared is the sandbox the tests of this package share: New sweeps the
// cgroups of its UID range, so two sandboxes on one range would kill
// each other's jobs. Tests needing another Config use another range.
var shared struct {
	once sync.Once
	sb   *Sandbox
	err  error
}

func sharedSandbox(t testing.TB) *Sandbox {
	t.Helper()
	shared.once.Do(func() {
		shared.sb, shared.err = New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.sb
}

// setup lays out a data dir with one job (id 1) for the shared sandbox.
func setup(t testing.TB) *testBundle {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	return &testBundle{sb: sharedSandbox(t), data: data, env: newJob(t, data, 1, testLimits)}
}

// testLimits are small enough to hit quickly and large enough for python3.
var testLimits = job.Limits{WallSeconds: 60, CPUSeconds: 10, MemoryMB: 1024, Processes: 64, DiskMB: 16}

// run runs argv confined as the bundle's job and returns its combined
// output and error.
func (b *testBundle) run(t testing.TB, argv ...string) (string, error) {
	t.Helper()
	return runIn(t, b.sb, b.env, argv...)
}

func runIn(t testing.TB, sb *Sandbox, env *Job, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := sb.Run(ctx, cmd, env)
	return out.String(), err
}
