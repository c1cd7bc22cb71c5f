package service

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// fitEnv is a job directory for the native fit, with its log.
func fitEnv(t *testing.T, spec string) (*Env, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"input", "output", "tmp"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	var log bytes.Buffer
	return &Env{Job: &job.Job{ID: 1}, Spec: []byte(spec), Input: filepath.Join(dir, "input"), Output: filepath.Join(dir, "output"),
		Temp: filepath.Join(dir, "tmp"), CPUs: 1, Log: &log, Progress: func(job.Progress) {}}, &log
}

const dreamSpec = `{"fitter":"dream","options":{"seed":4,"samples":%d,"burn":20},
	"parameters":{"a":{"value":1,"min":0,"max":5}},
	"datasets":[{"model":"a*x","x":[1,2,3],"y":[1.1,1.9,3.2],"dy":[0.1,0.1,0.1]}]}`

// A DREAM job leaves its final state in the job directory; a later
// attempt resumes from it, a damaged one is logged and the fit starts
// afresh, and a job continuing a fit needs a usable final state.
func TestFitCheckpointFiles(t *testing.T) {
	t.Parallel()
	env, log := fitEnv(t, strings.Replace(dreamSpec, "%d", "400", 1))
	first, err := Fit{}.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(env.JobDir(), CheckpointFile)
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("no final checkpoint: %v", err)
	}
	// The next attempt (its outputs moved aside) resumes and agrees.
	os.RemoveAll(env.Output)
	os.MkdirAll(env.Output, 0o755)
	log.Reset()
	again, err := Fit{}.Run(context.Background(), env)
	if err != nil || !bytes.Equal(again, first) || !strings.Contains(log.String(), "resumed from checkpoint at step") {
		t.Errorf("second attempt: %v, same result %v, log:\n%s", err, bytes.Equal(again, first), log)
	}
	// Damaged: logged, fresh start, same result.
	b, _ := os.ReadFile(ckpt)
	os.WriteFile(ckpt, b[:len(b)-7], 0o600)
	os.RemoveAll(env.Output)
	os.MkdirAll(env.Output, 0o755)
	log.Reset()
	fresh, err := Fit{}.Run(context.Background(), env)
	if err != nil || !bytes.Equal(fresh, first) || !strings.Contains(log.String(), "checkpoint not used, starting afresh: checkpoint damaged or truncated") {
		t.Errorf("damaged checkpoint: %v, same result %v, log:\n%s", err, bytes.Equal(fresh, first), log)
	}
	// Continuing: from the final state, or an error naming why not.
	cont, log2 := fitEnv(t, strings.Replace(dreamSpec, "%d", "200", 1))
	os.WriteFile(filepath.Join(cont.JobDir(), ContinueFile), b, 0o600)
	if _, err := (Fit{}).Run(context.Background(), cont); err != nil || !strings.Contains(log2.String(), "continuing the earlier fit") {
		t.Errorf("continue: %v\n%s", err, log2)
	}
	bad, _ := fitEnv(t, strings.Replace(dreamSpec, "%d", "200", 1))
	os.WriteFile(filepath.Join(bad.JobDir(), ContinueFile), []byte("junk"), 0o600)
	if _, err := (Fit{}).Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "cannot continue the earlier fit") {
		t.Errorf("continue from junk: %v", err)
	}
}

// A stop left as a file in the job directory (how it reaches a fit run
// by Slurm) ends the fit COMPLETE, marked stopped.
func TestFitStopFile(t *testing.T) {
	t.Parallel()
	env, _ := fitEnv(t, strings.Replace(dreamSpec, "%d", "2000000", 1))
	started := make(chan struct{}, 1)
	env.Progress = func(p job.Progress) {
		if p.Step == 100 {
			started <- struct{}{}
		}
	}
	go func() {
		<-started
		os.WriteFile(filepath.Join(env.JobDir(), StopFile), []byte("now\n"), 0o644)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Fit{}.Run(ctx, env)
	if err != nil || !bytes.Contains(res, []byte(`"stopped":true`)) {
		t.Errorf("stopped by file: %v %.200s", err, res)
	}
}
