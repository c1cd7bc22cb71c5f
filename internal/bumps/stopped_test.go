package bumps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// A stopped fit's results say where it stopped and what its figures come
// from: the steps made (the .mon file's last step), the plan, and for
// DREAM whether the draws are burn-in states.
func TestMarkStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.mon"), []byte("# steps: 500, # draws: 10000\nstep 1 cost 3.2(4)\nstep 40 cost 1.1(4)\nstep 41 cost 1.0(4)\n"), 0o644)
	store, err := jobfs.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, c := range []struct {
		fitter  string
		burn    int
		warning string
		want    string
	}{
		{"dream", 100, "", "stopped early by request at step 41 of 500 planned, during burn-in (100 steps): the statistics are from burn-in states"},
		{"dream", 20, "DREAM has not converged", "stopped early by request at step 41 of 500 planned: the statistics are from the draws so far; DREAM has not converged"},
		{"amoeba", 0, "", "stopped early by request at step 41 of 500 planned: the best point so far"},
	} {
		res := &Result{Result: fit.Result{Fitter: c.fitter, Steps: 500, Converged: true, Warning: c.warning}}
		if err := MarkStopped(store, "m", res, c.burn); err != nil {
			t.Fatal(err)
		}
		if !res.Stopped || res.Converged || res.Steps != 41 || !strings.HasPrefix(res.Warning, c.want) {
			t.Errorf("%s, burn %d: stopped %v, converged %v, steps %d, warning %q; want it to begin %q",
				c.fitter, c.burn, res.Stopped, res.Converged, res.Steps, res.Warning, c.want)
		}
	}
}
