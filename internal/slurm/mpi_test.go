package slurm

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/mpi"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// rankModel is the examples' Gaussian peak, which also leaves one file
// per process that loads it: every MPI rank loads the model.
const rankModel = `import os, sys
inp = os.environ["BUMPSERVE_INPUT"]
open(os.path.join(os.environ["BUMPSERVE_OUTPUT"], "loaded-by-%d" % os.getpid()), "w").close()
sys.argv[1:] = [os.path.join(inp, "peak.txt")]
exec(open(os.path.join(inp, "peak.py")).read())
`

// A Bumps fit of two tasks runs as two MPI ranks in one Slurm job of
// --ntasks=2 on one node, confined (its own network namespace with only
// lo up), with one progress stream and one result; and a seeded DE fit
// gives the very numbers the same fit gives serially, as does DREAM.
func TestBumpsMPIRanksMatchSerial(t *testing.T) {
	b := setup(t, Config{}, 4)
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil && mpi.Installed() == nil, "bumps and MPI (Debian: python3-bumps openmpi-bin python3-mpi4py python3-dill)")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ranks.py"), []byte(rankModel), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []client.Upload{
		{Name: "ranks.py", Path: filepath.Join(dir, "ranks.py")},
		{Name: "peak.py", Path: "../../examples/peak/peak.py"},
		{Name: "peak.txt", Path: "../../examples/peak/peak.txt"},
	}
	for _, fitter := range []string{"de", "dream"} {
		t.Run(fitter, func(t *testing.T) { mpiMatchesSerial(t, b, fitter, files) })
	}
}

// mpiMatchesSerial runs one seeded fit serially and as 2 MPI ranks and
// compares them.
func mpiMatchesSerial(t *testing.T, b *bundle, fitter string, files []client.Upload) {
	spec := func(tasks int) string {
		return `{"model": "ranks.py", "fitter": "` + fitter + `",
			"options": {"steps": 40, "pop": 10, "samples": 2000, "burn": 20, "seed": 7}, "resources": {"tasks": ` + itoa(int64(tasks)) + `}}`
	}
	var err error
	var jobs [2]*client.Job
	for i, tasks := range []int{1, 2} {
		jobs[i], err = b.c.Submit(context.Background(), client.Submission{Service: "bumps", Spec: json.RawMessage(spec(tasks))}, files)
		if err != nil {
			t.Fatalf("submit %d tasks: %v", tasks, err)
		}
	}
	if jobs[1].CPUs != 2 {
		t.Errorf("a job of 2 tasks occupies %d CPUs; want 2", jobs[1].CPUs)
	}
	var results [2]map[string]any
	for i, j := range jobs {
		final := b.wait(t, j.ID, 3*time.Minute)
		log, _ := os.ReadFile(filepath.Join(b.dir(j.ID), "output", "job.log"))
		if final.State != job.Complete {
			t.Fatalf("job %d (%d tasks) ended %s %q\njob.log:\n%s", j.ID, i+1, final.State, final.Reason, log)
		}
		res, err := b.c.Results(context.Background(), j.ID)
		if err != nil || json.Unmarshal(res, &results[i]) != nil {
			t.Fatalf("results of job %d: %s, %v", j.ID, res, err)
		}
		loaded, _ := filepath.Glob(filepath.Join(b.dir(j.ID), "output", "loaded-by-*"))
		if len(loaded) != i+1 {
			t.Errorf("job %d of %d tasks: %d processes loaded the model; want %d\njob.log:\n%s", j.ID, i+1, len(loaded), i+1, log)
		}
		script, _ := os.ReadFile(filepath.Join(b.dir(j.ID), scriptFile))
		if want := "'--ntasks=" + itoa(int64(i+1)) + "'"; !strings.Contains(string(script), want) {
			t.Errorf("job %d was not submitted with %s:\n%s", j.ID, want, script)
		}
		mpiRun := strings.Contains(string(log), mpi.Mpirun+" -np 2 ") && strings.Contains(string(log), " --mpi\n")
		if mpiRun != (i == 1) {
			t.Errorf("job %d of %d tasks: mpirun in its log is %v\njob.log:\n%s", j.ID, i+1, mpiRun, log)
		}
		if ns := slices.Contains(final.Protections, sandbox.ProtNetNSLoopback); ns != (i == 1) {
			t.Errorf("job %d of %d tasks ran under %v", j.ID, i+1, final.Protections)
		}
		if final.Progress == nil || final.Progress.Step == 0 {
			t.Errorf("job %d of %d tasks reported no progress: %+v", j.ID, i+1, final.Progress)
		}
	}
	for _, key := range []string{"chisq", "parameters", "evaluations", "seed"} {
		if !reflect.DeepEqual(results[0][key], results[1][key]) {
			t.Errorf("%s: serial %v, 2 MPI ranks %v", key, results[0][key], results[1][key])
		}
	}
	t.Logf("%s, serial and 2 ranks: chisq %v, parameters %v", fitter, results[0]["chisq"], results[0]["parameters"])
}

// A native fit of resources.cpus 2 is one Slurm task of 2 CPUs, and its
// mapper evaluates on both.
func TestNativeFitUsesItsSlurmCPUs(t *testing.T) {
	b := setup(t, Config{}, 4)
	j := b.submit(t, "fit", `{"fitter": "de", "options": {"seed": 1, "steps": 20}, "resources": {"cpus": 2},
		"parameters": {"a": {"value": 1, "min": 0, "max": 5}, "b": {"value": 0, "min": -5, "max": 5}},
		"datasets": [{"model": "a*x+b", "x": [1,2,3,4,5], "y": [2.1,3.9,6.2,7.8,10.1]}]}`)
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Complete, "")
	log, _ := os.ReadFile(filepath.Join(b.dir(j.ID), "output", "job.log"))
	script, _ := os.ReadFile(filepath.Join(b.dir(j.ID), scriptFile))
	if !strings.Contains(string(script), "'--cpus-per-task=2' '--ntasks=1'") {
		t.Errorf("the fit was not submitted as one task of 2 CPUs:\n%s", script)
	}
	if !strings.Contains(string(log), "points, 2 cpus\n") {
		t.Errorf("the fit's mapper did not use its 2 CPUs:\n%s", log)
	}
}
