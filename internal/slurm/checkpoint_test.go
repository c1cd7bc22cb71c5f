package slurm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A seeded DREAM fit run by Slurm is requeued by Slurm itself (scontrol
// requeue, as preemption or an administrator does): run-job is stopped
// with SIGTERM and saves the fit's state in the shared job directory,
// the batch job runs again, and run-job goes on from that checkpoint,
// says so in the job log, and the job ends COMPLETE with the result of a
// run never interrupted.
func TestRequeuedSlurmJobResumesFromItsCheckpoint(t *testing.T) {
	b := setup(t, Config{}, 2)
	spec := testenv.SeededDREAMSpec(150000, 2000, 1)
	s, err := fit.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := fit.Run(context.Background(), s, fit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(ref)

	j := b.submit(t, "fit", string(spec))
	sid := b.slurmID(t, j.ID)
	at := 0
	testenv.Eventually(t, 2*time.Minute, "a checkpoint in the job directory", func() bool {
		at = savedStep(b.dir(j.ID))
		return at > 0
	})
	if out, err := exec.Command("scontrol", "requeue", sid).CombinedOutput(); err != nil {
		t.Fatalf("scontrol requeue %s: %v: %s", sid, err, out)
	}
	// Slurm holds a requeued job back for two minutes; let it start now.
	testenv.Eventually(t, 30*time.Second, "Slurm job "+sid+" requeued", func() bool { return slurmState(sid) == "PENDING" })
	if out, err := exec.Command("scontrol", "update", "JobId="+sid, "StartTime=now").CombinedOutput(); err != nil {
		t.Fatalf("scontrol update StartTime: %v: %s", err, out)
	}
	final := b.wait(t, j.ID, 3*time.Minute)
	wantState(t, final, job.Complete, "")
	if final.Attempt != 1 {
		t.Errorf("attempt %d; Slurm's requeue is within bumpserve's attempt 1", final.Attempt)
	}
	log, _ := os.ReadFile(filepath.Join(b.dir(j.ID), "output", "job.log"))
	m := regexp.MustCompile(`resumed from checkpoint at step (\d+)\n`).FindSubmatch(log)
	step := 0
	if m != nil {
		fmt.Sscan(string(m[1]), &step)
	}
	if step < at || !bytes.Contains(log, []byte("run-job: stopped by a signal")) {
		t.Errorf("job.log does not show run-job stopped and resumed at step >= %d:\n%s", at, log)
	}
	got, err := b.c.Results(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var g, w map[string]any
	json.Unmarshal(got, &g)
	json.Unmarshal(want, &w)
	for k := range w {
		if !reflect.DeepEqual(g[k], w[k]) {
			t.Errorf("%s differs from the uninterrupted run's:\n got %v\nwant %v", k, g[k], w[k])
		}
	}
}

// savedStep is the step of the checkpoint in the job directory dir (0:
// none yet).
func savedStep(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, "checkpoint.fit"))
	if err != nil {
		return 0
	}
	info, err := fit.InspectCheckpoint(data)
	if err != nil {
		return 0
	}
	return info.Step
}
