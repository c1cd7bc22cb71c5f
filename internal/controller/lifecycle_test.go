package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

func submit(t *testing.T, cl *client.Client, spec string) *client.Job {
	t.Helper()
	j, err := cl.Submit(context.Background(), client.Submission{Service: "sleep", Spec: json.RawMessage(spec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func waitFor(t *testing.T, cl *client.Client, id int64, what string, cond func(*client.Job) bool) *client.Job {
	t.Helper()
	var j *client.Job
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("job %d: %s", id, what), func() bool {
		var err error
		if j, err = cl.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return cond(j)
	})
	return j
}

func inState(s job.State) func(*client.Job) bool {
	return func(j *client.Job) bool { return j.State == s }
}

// A running job stops promptly when cancelled and ends in CANCEL; with a
// child process, the process is gone too.
func TestCancelRunning(t *testing.T) {
	t.Parallel()
	for _, exec := range []bool{false, true} {
		t.Run(fmt.Sprintf("exec=%v", exec), func(t *testing.T) {
			t.Parallel()
			env := testenv.Start(t, controller.Config{Workers: 1})
			cl := env.Client(env.AdminToken)
			j := submit(t, cl, fmt.Sprintf(`{"seconds":60,"exec":%v}`, exec))
			waitFor(t, cl, j.ID, "running", inState(job.Active))
			pidFile := filepath.Join(env.Data, "jobs", fmt.Sprint(j.ID), "proc.json")
			var rec proc.Record
			if exec {
				testenv.Eventually(t, 5*time.Second, "process recorded", func() bool {
					b, err := os.ReadFile(pidFile)
					return err == nil && json.Unmarshal(b, &rec) == nil && rec.PID > 0
				})
			}
			got, err := cl.Cancel(context.Background(), j.ID)
			if err != nil || !got.CancelRequested {
				t.Fatalf("cancel = %+v, %v", got, err)
			}
			end := waitFor(t, cl, j.ID, "cancelled", inState(job.Cancel))
			if !strings.Contains(end.Reason, "cancel") || end.Finished == nil {
				t.Errorf("cancelled job = %+v", end)
			}
			if exec && !proc.WaitGone(rec.PID, 5*time.Second) {
				t.Errorf("process %d still alive after cancel", rec.PID)
			}
			// Terminal states are final.
			if _, err := cl.Cancel(context.Background(), j.ID); err == nil {
				t.Error("second cancel accepted")
			}
		})
	}
}

func TestCancelPending(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	cl := env.Client(env.AdminToken)
	j := submit(t, cl, `{"seconds":1}`)
	got, err := cl.Cancel(context.Background(), j.ID)
	if err != nil || got.State != job.Cancel {
		t.Fatalf("cancel pending = %+v, %v", got, err)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	cl := env.Client(env.AdminToken)
	ctx := context.Background()
	done := submit(t, cl, `{"seconds":0}`)
	waitFor(t, cl, done.ID, "complete", inState(job.Complete))
	running := submit(t, cl, `{"seconds":60,"exec":true}`)
	waitFor(t, cl, running.ID, "running", inState(job.Active))
	for _, id := range []int64{done.ID, running.ID} {
		if err := cl.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Get(ctx, id); !client.IsNotFound(err) {
			t.Errorf("get deleted job %d: %v", id, err)
		}
		if err := cl.Delete(ctx, id); !client.IsNotFound(err) {
			t.Errorf("delete twice: %v", err)
		}
		// The files go too, including any that a run stopping just then
		// had still to make (the delete may come before the run made its
		// directory).
		dir := filepath.Join(env.Data, "jobs", fmt.Sprint(id))
		testenv.Eventually(t, 5*time.Second, "job dir "+dir+" removed", func() bool {
			_, err := os.Stat(dir)
			return errors.Is(err, os.ErrNotExist)
		})
	}
	// The slot is free again: a new job runs.
	next := submit(t, cl, `{"seconds":0}`)
	waitFor(t, cl, next.ID, "complete", inState(job.Complete))
	testenv.Eventually(t, 5*time.Second, "trash emptied", func() bool {
		ents, _ := os.ReadDir(filepath.Join(env.Data, "trash"))
		return len(ents) == 0
	})
}

func TestWallLimit(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	cl := env.Client(env.AdminToken)
	j := submit(t, cl, `{"seconds":60,"limits":{"wall_seconds":0.2}}`)
	end := waitFor(t, cl, j.ID, "stopped by its limit", inState(job.Error))
	if !strings.Contains(end.Reason, "wall_seconds") {
		t.Errorf("reason = %q", end.Reason)
	}
}

// A job with a child process survives nothing of a crashed executor: the
// next start of the controller kills the leftover process and runs the
// job again.
func TestRecoverSweepsAndRequeues(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	env := testenv.Start(t, controller.Config{Data: data, Workers: 0, Name: "node1"})
	cl := env.Client(env.AdminToken)
	ctx := context.Background()
	j := submit(t, cl, `{"seconds":0.1}`)
	js, err := env.C.Queue.Claim(ctx, queue.ClaimRequest{Worker: "node1", FreeCPUs: 1, Max: 1})
	if err != nil || len(js) != 1 {
		t.Fatal(js, err)
	}
	// Stand in for the crashed process's job: a live process group
	// recorded in the job's pid file.
	dir := env.C.Root.Job(j.ID)
	dir.Prepare(1)
	leftover := startRecorded(t, filepath.Join(string(dir), "proc.json"))

	if _, err := env.C.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if !proc.WaitGone(leftover, 5*time.Second) {
		t.Fatalf("leftover process %d not swept", leftover)
	}
	got, _ := cl.Get(ctx, j.ID)
	if got.State != job.Pending || got.Attempt != 2 {
		t.Fatalf("after recover: %s attempt %d", got.State, got.Attempt)
	}
}

// A job wider than the CPUs free when it was queued runs as soon as the
// slots free up, without waiting for another submission.
func TestWideJobRunsWhenSlotsFree(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 2})
	cl := env.Client(env.AdminToken)
	narrow := submit(t, cl, `{"seconds":2}`) // still running at the first look, under load too
	waitFor(t, cl, narrow.ID, "running", inState(job.Active))
	wide := submit(t, cl, `{"seconds":0,"resources":{"cpus":2}}`)
	waitFor(t, cl, wide.ID, "complete", inState(job.Complete))
}

// A cap on jobs holds beside the cap on CPUs: four free CPUs, but never
// more than two jobs at once.
func TestMaxJobsCapsRunningJobs(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 4, MaxJobs: 2})
	cl := env.Client(env.AdminToken)
	sub := env.C.Queue.Events.Subscribe(0, "")
	defer sub.Close()
	var ids []int64
	// Each job runs long enough that a subscriber slowed by the other
	// tests' load still sees two of them ACTIVE together.
	for range 5 {
		ids = append(ids, submit(t, cl, `{"seconds":1}`).ID)
	}
	active, most, finished := map[int64]bool{}, 0, 0
	deadline := time.After(20 * time.Second)
	for finished < len(ids) {
		select {
		case <-sub.Ready():
		case <-deadline:
			t.Fatalf("%d of %d jobs finished", finished, len(ids))
		}
		for _, j := range sub.Take() {
			switch {
			case j.State == job.Active:
				active[j.ID] = true
			case j.State.Terminal():
				if j.State != job.Complete {
					t.Errorf("job %d ended %s: %s", j.ID, j.State, j.Reason)
				}
				delete(active, j.ID)
				finished++
			}
			most = max(most, len(active))
		}
	}
	if most != 2 {
		t.Errorf("at most %d jobs ran at once; want 2 (MaxJobs)", most)
	}
}
