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
// run never interrupted. Slurm may show the first run's end (FAILED) for a
// moment before the job is PENDING again; squeue here always shows it once,
// so the executor must tell that moment from the job's end every time.
func TestRequeuedSlurmJobResumesFromItsCheckpoint(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "show-the-end-once")
	squeue := filepath.Join(t.TempDir(), "squeue")
	script := "#!/bin/sh\n" +
		"out=$(squeue \"$@\") || { s=$?; printf '%s\\n' \"$out\"; exit $s; }\n" +
		"if rm " + mark + " 2>/dev/null; then\n" +
		"  printf '%s\\n' \"$out\" | sed 's/^\\([0-9]*\\)|[A-Z_]*|.*/\\1|FAILED|NonZeroExitCode/'\n" +
		"else printf '%s\\n' \"$out\"; fi\n"
	if err := os.WriteFile(squeue, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b := setup(t, Config{Commands: Commands{Squeue: squeue}}, 2)
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
	if err := os.WriteFile(mark, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Slurm holds a requeued job back for two minutes (its credential's
	// lifetime); let it start sooner, but not within the second of the
	// requeue: slurmd refuses a credential made in the second it revoked
	// the first run's ("Job credential revoked"), and the job then truly
	// fails, as a CI run here saw.
	testenv.Eventually(t, 30*time.Second, "Slurm job "+sid+" requeued", func() bool { return slurmState(sid) == "PENDING" })
	if out, err := exec.Command("scontrol", "update", "JobId="+sid, "StartTime=now+3").CombinedOutput(); err != nil {
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
	if step < at || !bytes.Contains(log, []byte("run-job: stopped by a signal")) || !bytes.Contains(log, []byte("Slurm requeued job "+sid)) {
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
