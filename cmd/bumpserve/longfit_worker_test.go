package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A seeded DREAM fit on HTTP worker A, which is killed -9 after a
// checkpoint: A has sent it to the controller, so worker B (another work
// directory, as another machine) takes the job up once A's lease ends,
// fetches the checkpoint with the inputs, says where it resumed, and the
// job ends COMPLETE with the result of `bumpserve fit` on the same spec.
// Then a fit whose worker is killed before any checkpoint starts afresh
// on the next worker, to the uninterrupted result too.
func TestWorkerKill9ResumesOnAnotherWorker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := longDREAMSpec(t, dir, 150000, 2000)
	noCkpt := longDREAMSpec(t, dir, 150000, 2000, 3600) // no periodic checkpoint
	ref, errOut, code := bs(t, nil, "fit", spec)
	if code != 0 {
		t.Fatalf("reference fit: %d %s", code, errOut)
	}
	ref2, errOut, code := bs(t, nil, "fit", noCkpt)
	if code != 0 {
		t.Fatalf("reference fit: %d %s", code, errOut)
	}
	data := filepath.Join(dir, "data")
	srv := startServer(t, data, "--workers", "0", "--lease", "6s", "--sandbox-uids", "68400-68409")
	tok := workerToken(t, data, "farm")
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ctx := context.Background()
	submit := func(path string) int64 {
		b, _ := os.ReadFile(path)
		j, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: b}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	finalLog := func(id int64) string {
		b, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(id), "output", "job.log"))
		return string(b)
	}

	a := startWorker(t, srv.URL, tok, "A", 1)
	id := submit(spec)
	// The checkpoint A saved is on the controller, in the job's directory.
	testenv.Eventually(t, 120*time.Second, "a checkpoint from worker A on the controller", func() bool { return checkpointStep(data, id) > 0 })
	a.Cmd.Process.Signal(syscall.SIGKILL)
	<-a.Ended
	at := checkpointStep(data, id)
	b := startWorker(t, srv.URL, tok, "B", 1)
	final, err := cl.Watch(ctx, id, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" || final.Attempt != 2 || final.Worker != "B" {
		t.Fatalf("job after worker A's kill: %v %s attempt %d on %s (%s)", err, final.State, final.Attempt, final.Worker, final.Reason)
	}
	log := finalLog(id)
	m := resumedLine.FindStringSubmatch(log)
	var step int
	if m != nil {
		fmt.Sscan(m[1], &step)
	}
	// At the checkpoint the kill left, or one A had sent that the
	// controller was still storing as the kill came.
	if m == nil || step < at {
		t.Errorf("worker B's log has no resumed line at step >= %d:\n%s", at, log)
	}
	got, _, _ := bs(t, env, "results", fmt.Sprint(id))
	sameResults(t, "resumed on another worker", []byte(got), []byte(ref))

	// Killed before any checkpoint: nothing kept, a fresh start.
	id2 := submit(noCkpt)
	testenv.Eventually(t, 120*time.Second, "the second fit runs on B", func() bool {
		j, err := cl.Get(ctx, id2)
		return err == nil && j.Worker == "B" && j.Progress != nil && j.Progress.Step > 100
	})
	b.Cmd.Process.Signal(syscall.SIGKILL)
	<-b.Ended
	if s := checkpointStep(data, id2); s != -1 {
		t.Fatalf("a checkpoint at step %d with an hour's interval", s)
	}
	startWorker(t, srv.URL, tok, "C", 1)
	final, err = cl.Watch(ctx, id2, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" || final.Attempt != 2 || final.Worker != "C" {
		t.Fatalf("job after worker B's kill: %v %s attempt %d on %s (%s)", err, final.State, final.Attempt, final.Worker, final.Reason)
	}
	if log := finalLog(id2); resumedLine.MatchString(log) || strings.Contains(log, "checkpoint not used") {
		t.Errorf("a fit with no checkpoint did not start afresh quietly:\n%s", log)
	}
	got, _, _ = bs(t, env, "results", fmt.Sprint(id2))
	sameResults(t, "fresh start on another worker", []byte(got), []byte(ref2))
	// Its final state reached the controller with its end: it can be
	// continued though it ran on a worker.
	if s := checkpointStep(data, id2); s <= 0 {
		t.Errorf("no final state on the controller for a fit run on a worker (step %d)", s)
	}
}
