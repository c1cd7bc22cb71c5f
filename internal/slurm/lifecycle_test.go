package slurm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

func TestSleepJobCompletesWithProgress(t *testing.T) {
	b := setup(t, Config{}, 4)
	j := b.submit(t, "sleep", `{"seconds": 2, "message": "hello", "resources": {"cpus": 2}}`)
	sid := b.slurmID(t, j.ID)
	awaitStarted(t, sid) // a 2 s job may be done by the first look
	testenv.Eventually(t, 10*time.Second, "progress from the Slurm job", func() bool {
		got, err := b.c.Get(context.Background(), j.ID)
		return err == nil && got.Progress != nil && got.Progress.Step > 0
	})
	out, _ := exec.Command("scontrol", "show", "job", "-o", sid).Output()
	for _, want := range []string{"JobName=bumpserve-" + itoa(j.ID), "CPUs/Task=2", "MinMemoryNode=0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Slurm job lacks %s (no --mem unless configured):\n%s", want, out)
		}
	}
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Complete, "")
	res, err := b.c.Results(context.Background(), j.ID)
	if err != nil || !strings.Contains(string(res), `"message":"hello"`) {
		t.Fatalf("results = %s, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(b.dir(j.ID), "output", "sleep.txt")); err != nil {
		t.Errorf("the job's output file: %v", err)
	}
}

func TestFitJobCompletesWithResults(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "fit", `{"fitter": "lm", "parameters": {"a": {"value": 1}, "b": {"value": 0}},
		"datasets": [{"model": "a*x+b", "x": [1,2,3,4,5], "y": [2.1,3.9,6.2,7.8,10.1]}]}`)
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Complete, "")
	res, err := b.c.Results(context.Background(), j.ID)
	if err != nil || !strings.Contains(string(res), `"chisq"`) {
		t.Fatalf("results = %s, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(b.dir(j.ID), "output", "results.json")); err != nil {
		t.Errorf("results.json written on the compute node: %v", err)
	}
}

// A job's processes run confined on the compute node too, and the job's
// record says how.
func TestComputeNodeJobRunsConfined(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "sleep", `{"seconds": 0.2, "exec": true}`)
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Complete, "")
	prot := strings.Join(final.Protections, ",")
	for _, want := range []string{"landlock", "no-new-privs", "rlimits"} {
		if !strings.Contains(prot, want) {
			t.Errorf("protections %q lack %s", prot, want)
		}
	}
}

func TestFailingJobEndsInErrorWithItsMessage(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "sleep", `{"seconds": 0.1, "fail": true, "message": "the model diverged"}`)
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Error, "the model diverged")
}

func TestWallLimitCancelsTheSlurmJob(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "sleep", `{"seconds": 120, "limits": {"wall_seconds": 3}}`)
	sid := b.slurmID(t, j.ID)
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Error, "wall_seconds")
	if st := slurmState(sid); st != "CANCELLED" && st != "" {
		t.Errorf("Slurm job %s is %s after the wall limit; want it cancelled", sid, st)
	}
}

// A site's --time below the job's wall limit: Slurm's own TIMEOUT ends the
// job (Slurm counts in whole minutes, so this takes one and a bit).
func TestSlurmTimeLimitEndsInErrorNamingTheLimit(t *testing.T) {
	b := setup(t, Config{Options: Options{Time: time.Minute}}, 2)
	j := b.submit(t, "sleep", `{"seconds": 600}`)
	final := b.wait(t, j.ID, 3*time.Minute)
	wantState(t, final, job.Error, "TIMEOUT")
	wantState(t, final, job.Error, "wall_seconds")
}

func TestCancelThroughTheAPIScancels(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "sleep", `{"seconds": 120}`)
	sid := b.slurmID(t, j.ID)
	awaitRunning(t, sid)
	if _, err := b.c.Cancel(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Cancel, "")
	if st := slurmState(sid); st != "CANCELLED" && st != "" {
		t.Errorf("Slurm job %s is %s after cancel; want CANCELLED", sid, st)
	}
}

func TestScancelBehindBumpservesBackEndsInCancel(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "sleep", `{"seconds": 120}`)
	sid := b.slurmID(t, j.ID)
	awaitRunning(t, sid)
	// By id, not by the name bumpserve-<id>: the parallel tests' controllers
	// all number their jobs from 1.
	if out, err := exec.Command("scancel", sid).CombinedOutput(); err != nil {
		t.Fatalf("scancel: %v: %s", err, out)
	}
	final := b.wait(t, j.ID, time.Minute)
	wantState(t, final, job.Cancel, "outside bumpserve")
}

func TestDeleteScancelsAndRemovesTheFiles(t *testing.T) {
	b := setup(t, Config{}, 2)
	j := b.submit(t, "sleep", `{"seconds": 120}`)
	sid := b.slurmID(t, j.ID)
	awaitRunning(t, sid)
	if err := b.c.Delete(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "Slurm job "+sid+" ended", func() bool {
		st := slurmState(sid)
		return st == "CANCELLED" || st == ""
	})
	if _, err := os.Stat(b.dir(j.ID)); !os.IsNotExist(err) {
		t.Errorf("job directory after delete: %v", err)
	}
}
