package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// Sleep is the test service: it sleeps, reports progress, writes a small
// output file, and fails with a given message when asked. With "exec" it
// sleeps in a child process (coreutils sleep), exercising the same process
// handling as services that run external programs.
type Sleep struct{}

// SleepSpec is the sleep service's spec.
type SleepSpec struct {
	Seconds float64 `json:"seconds"`
	Fail    bool    `json:"fail"`
	Message string  `json:"message"`
	Exec    bool    `json:"exec"`
	// Files is how many more small output files to write (file-N.txt),
	// for measuring what a job's files cost.
	Files int `json:"files"`
}

// maxSleepFiles bounds SleepSpec.Files.
const maxSleepFiles = 1000

// Name implements Service.
func (Sleep) Name() string { return "sleep" }

// Check implements Service.
func (Sleep) Check(raw json.RawMessage, _ string) error {
	_, err := parseSleep(raw)
	return err
}

func parseSleep(raw json.RawMessage) (*SleepSpec, error) {
	var s SleepSpec
	if err := decodeStrict(raw, &s); err != nil {
		return nil, err
	}
	if s.Seconds < 0 || math.IsNaN(s.Seconds) || s.Seconds > 7*24*3600 {
		return nil, fmt.Errorf("spec.seconds: %g is not between 0 and 604800", s.Seconds)
	}
	if s.Files < 0 || s.Files > maxSleepFiles {
		return nil, fmt.Errorf("spec.files: %d is not between 0 and %d", s.Files, maxSleepFiles)
	}
	return &s, nil
}

// progressStep is how often a sleeping job reports progress.
const progressStep = 100 * time.Millisecond

// Run implements Service.
func (Sleep) Run(ctx context.Context, env *Env) (json.RawMessage, error) {
	s, err := parseSleep(env.Spec)
	if err != nil {
		return nil, err
	}
	d := time.Duration(s.Seconds * float64(time.Second))
	fmt.Fprintf(env.Log, "sleeping %v\n", d)
	start := time.Now()
	if s.Exec {
		err = sleepProcess(ctx, env, s.Seconds)
	} else {
		err = sleepHere(ctx, env, d)
	}
	if err != nil {
		return nil, err
	}
	slept := time.Since(start).Seconds()
	out := fmt.Sprintf("slept %.3f s\n", slept)
	if err := jobfs.WriteFile(env.Output, "sleep.txt", []byte(out), 0o644); err != nil {
		return nil, fmt.Errorf("write output: %w", err)
	}
	for i := range s.Files {
		if err := jobfs.WriteFile(env.Output, fmt.Sprintf("file-%d.txt", i+1), []byte(out), 0o644); err != nil {
			return nil, fmt.Errorf("write output: %w", err)
		}
	}
	if s.Fail {
		msg := s.Message
		if msg == "" {
			msg = "failed as asked"
		}
		return nil, errors.New(msg)
	}
	res, _ := json.Marshal(map[string]any{"slept": slept, "message": s.Message})
	return res, nil
}

func sleepHere(ctx context.Context, env *Env, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	deadline := time.Now().Add(d)
	tick := time.NewTicker(progressStep)
	defer tick.Stop()
	end := time.NewTimer(d)
	defer end.Stop()
	for step := 1; ; step++ {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-end.C:
			return nil
		case <-tick.C:
			left := time.Until(deadline).Seconds()
			env.Progress(job.Progress{Step: step, Message: fmt.Sprintf("%.1f s left", max(left, 0))})
		}
	}
}

func sleepProcess(ctx context.Context, env *Env, seconds float64) error {
	path, err := exec.LookPath("sleep")
	if err != nil {
		return fmt.Errorf("sleep: no sleep program: %w", err)
	}
	cmd := exec.Command(path, strconv.FormatFloat(seconds, 'f', -1, 64))
	cmd.Dir = env.Temp
	// No output to job.log: the log is the root side's account of the
	// job, and nothing of the job's writes into it.
	env.Progress(job.Progress{Step: 1, Message: "sleeping in a child process"})
	return env.Command(ctx, cmd)
}
