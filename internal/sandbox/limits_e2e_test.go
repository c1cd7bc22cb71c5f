package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// limitsUIDs is this test's own range (see e2eUIDs).
var limitsUIDs = [2]int{62100, 62199}

// lineModel is a small Bumps model; prelude runs before it, at import.
const lineModel = `
from bumps.names import *
import numpy as np
x = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
M = Curve(lambda x, m, b: m*x + b, x, 2*x + 1 + 0.01*np.sin(x), 0.1*np.ones_like(x), m=1, b=0)
M.m.range(-10, 10)
M.b.range(-10, 10)
problem = FitProblem(M)
`

// TestLimitsAreFinal runs Bumps jobs (Python with NumPy, SciPy and
// matplotlib) through a controller whose slots use the sandbox: at
// memory_mb 200 a fit completes; a model that goes past its memory, disk
// or wall-clock limit ends in ERROR with a reason naming the limit by its
// spec key and value, on its first attempt, and is not run again.
func TestLimitsAreFinal(t *testing.T) {
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil, "python3-bumps is missing")
	t.Parallel()
	_, e := startConfined(t, limitsUIDs, 2)
	c := e.Client(e.AdminToken)
	root := os.Geteuid() == 0

	cases := []struct {
		name, prelude, limits string
		reason                string // "" means the fit must complete
	}{
		{name: "numpy at 200 MB", limits: `{"memory_mb": 200}`},
		{name: "past 200 MB", prelude: "hog = b'x' * (400 << 20)\n", limits: `{"memory_mb": 200}`,
			reason: "limit exceeded: memory_mb (200 MB)"},
		// One allocation past the address-space backstop is a
		// MemoryError in Python, not an OOM kill: still memory_mb.
		{name: "one allocation of 2 GB", prelude: "hog = bytearray(2000 << 20)\n", limits: `{"memory_mb": 200}`,
			reason: "limit exceeded: memory_mb (200 MB)"},
		{name: "past 50 MB of files", limits: `{"disk_mb": 50}`, reason: "limit exceeded: disk_mb (50 MB)",
			prelude: "import os, time\nfor i in range(8):\n    open(os.environ['BUMPSERVE_OUTPUT'] + '/fill%d' % i, 'wb').write(b'x' * (10 << 20))\ntime.sleep(60)\n"},
		{name: "past 3 s", prelude: "import time\ntime.sleep(60)\n", limits: `{"wall_seconds": 3}`,
			reason: "limit exceeded: wall_seconds (3 s)"},
	}
	if !root {
		// Without a memory cgroup memory_mb is the address space, in
		// which NumPy does not fit at 200 MB.
		cases = cases[1:]
	}
	ids := make([]int64, len(cases))
	for i, tc := range cases {
		model := filepath.Join(t.TempDir(), "model.py")
		if err := os.WriteFile(model, []byte(tc.prelude+lineModel), 0o644); err != nil {
			t.Fatal(err)
		}
		spec := `{"model": "model.py", "fitter": "amoeba", "options": {"steps": 20}, "limits": ` + tc.limits + `}`
		j, err := c.Submit(context.Background(), client.Submission{Name: tc.name, Service: "bumps", Spec: json.RawMessage(spec)},
			[]client.Upload{{Name: "model.py", Path: model}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ids[i] = j.ID
	}
	for i, tc := range cases {
		j := waitState(t, c, ids[i], func(s job.State) bool { return s.Terminal() })
		switch {
		case tc.reason == "" && j.State != job.Complete:
			t.Errorf("%s: ended %s: %s", tc.name, j.State, j.Reason)
		case tc.reason != "" && (j.State != job.Error || !strings.HasPrefix(j.Reason, tc.reason)):
			t.Errorf("%s: ended %s (%q), want ERROR with a reason starting %q", tc.name, j.State, j.Reason, tc.reason)
		case j.Attempt != 1:
			t.Errorf("%s: ran %d times: a job's own limit is not a worker's failure", tc.name, j.Attempt)
		}
		t.Logf("%s: %s %s", tc.name, j.State, j.Reason)
	}
}
