package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// curveModel is a small Bumps model (from the Bumps documentation).
const curveModel = `from bumps.names import *
x = [1, 2, 3, 4, 5, 6]
y = [2.1, 4.0, 6.3, 8.03, 9.6, 11.9]
dy = [0.05, 0.05, 0.2, 0.05, 0.2, 0.2]
def line(x, m, b=0):
    return m*x + b
M = Curve(line, x, y, dy, m=2, b=2)
M.m.range(0, 4)
M.b.range(-5, 5)
problem = FitProblem(M)
`

// TestBumpsRunsConfined shows that the default system paths are enough
// for a real Bumps dream fit with matplotlib plots, and that nothing
// complains about a path it could not reach.
func TestBumpsRunsConfined(t *testing.T) {
	t.Parallel()
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil, "python3-bumps is not installed (/usr/bin/bumps)")
	b := setup(t)
	if err := os.WriteFile(filepath.Join(b.env.Input, "curve.py"), []byte(curveModel), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(b.env.Output, "store")
	out, err := b.run(t, "/usr/bin/bumps", filepath.Join(b.env.Input, "curve.py"),
		"--fit=dream", "--samples=2000", "--burn=50", "--seed=1", "--store="+store, "--batch")
	if err != nil {
		t.Fatalf("bumps failed confined: %v\n%s", err, out)
	}
	for _, f := range []string{"curve.par", "curve.err", "curve-model.png"} {
		if _, err := os.Stat(filepath.Join(store, f)); err != nil {
			t.Errorf("bumps wrote no %s: %v\n%s", f, err, out)
		}
	}
	for _, bad := range []string{"Permission denied", "Read-only file system", "Fontconfig error", "Matplotlib created a temporary"} {
		if strings.Contains(out, bad) {
			t.Errorf("bumps output mentions %q:\n%s", bad, out)
		}
	}
}

// TestJobEnvironment shows what a job sees of its environment: its
// directories, never the executor's variables.
func TestJobEnvironment(t *testing.T) {
	t.Setenv("BUMPSERVE_SECRET_OF_THE_EXECUTOR", "x")
	b := setup(t)
	out, err := b.run(t, "/usr/bin/env")
	if err != nil {
		t.Fatalf("env failed: %v\n%s", err, out)
	}
	for _, want := range []string{"HOME=" + b.env.Temp, "TMPDIR=" + b.env.Temp, "MPLCONFIGDIR=" + b.env.Temp,
		"BUMPSERVE_INPUT=" + b.env.Input, "BUMPSERVE_OUTPUT=" + b.env.Output} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the job's environment lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("the executor's environment leaked into the job:\n%s", out)
	}
}

// TestMultiprocessing shows Python's multiprocessing (bumps --parallel)
// working confined: it needs POSIX semaphores in /dev/shm, which only
// the private root (as root) gives a job of its own.
func TestMultiprocessing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if !slices.Contains(b.sb.Available(), ProtMountNS) {
		t.Skip("not root: no private /dev/shm, so no multiprocessing (the host's is shared with every user)")
	}
	out, err := b.run(t, "/usr/bin/python3", "-c", "import multiprocessing as m; print(m.Pool(2).map(abs, [-1, -2]))")
	if err != nil || !strings.Contains(out, "[1, 2]") {
		t.Fatalf("a multiprocessing pool failed confined: %v\n%s", err, out)
	}
}
