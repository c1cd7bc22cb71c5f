package slurm

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A controller killed with -9 while its jobs run in Slurm takes them up
// again when it restarts: the same attempt follows the same Slurm job to
// its end, or collects the result of one that ended meanwhile, and the
// work done without the controller is not lost.
func TestRestartedControllerFollowsItsSlurmJobs(t *testing.T) {
	t.Parallel()
	needSlurm(t)
	data := t.TempDir()
	first, url := startServe(t, data)
	token, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := client.New(url, strings.TrimSpace(string(token)), client.Options{})
	ctx := context.Background()
	var ids []int64
	var subs []submission
	// One runs through the restart, one ends before it. The long one is
	// long enough that, with Slurm busy with other tests' jobs, the short
	// one can wait its turn and still end before the long one.
	for _, seconds := range []string{"40", "0.5"} {
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": ` + seconds + `}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sub submission
		testenv.Eventually(t, 30*time.Second, "job submitted to Slurm", func() bool {
			return jobdir.ReadJSON(filepath.Join(data, "jobs", itoa(j.ID), slurmFile), &sub) == nil
		})
		ids, subs = append(ids, j.ID), append(subs, sub)
	}
	// Killed at once: the short job must end while no controller runs
	// (waiting for the long one to start first let it end before).
	first.Cmd.Process.Signal(syscall.SIGKILL)
	<-first.Ended
	awaitRunning(t, subs[0].SlurmID)
	testenv.Eventually(t, 30*time.Second, "the short Slurm job ends without the controller", func() bool {
		st := slurmState(subs[1].SlurmID)
		return st == "COMPLETED" || st == ""
	})
	if st := slurmState(subs[0].SlurmID); st != "RUNNING" {
		t.Fatalf("Slurm job %s is %q after the controller died; it should go on", subs[0].SlurmID, st)
	}

	second, url := startServe(t, data)
	cl, _ = client.New(url, strings.TrimSpace(string(token)), client.Options{})
	for i, id := range ids {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		final, err := cl.Watch(wctx, id, func(*client.Job) error { return nil })
		cancel()
		if err != nil {
			t.Fatalf("job %d did not end: %v\nserver log:\n%s", id, err, second.Log())
		}
		if final.State != job.Complete || final.Attempt != 1 {
			t.Errorf("job %d ended %s %q at attempt %d; want COMPLETE at attempt 1\nserver log:\n%s",
				id, final.State, final.Reason, final.Attempt, second.Log())
		}
		dir := filepath.Join(data, "jobs", itoa(id))
		var after submission
		if jobdir.ReadJSON(filepath.Join(dir, slurmFile), &after); after.SlurmID != subs[i].SlurmID {
			t.Errorf("Slurm job %s was replaced by %s", subs[i].SlurmID, after.SlurmID)
		}
		if st := slurmState(subs[i].SlurmID); st == "CANCELLED" {
			t.Errorf("Slurm job %s was cancelled", subs[i].SlurmID)
		}
		logText, _ := os.ReadFile(filepath.Join(dir, "output", "job.log"))
		if !strings.Contains(string(logText), "following Slurm job "+subs[i].SlurmID+" again") {
			t.Errorf("job %d's log does not say the job was followed again:\n%s", id, logText)
		}
	}
}

var listeningURL = regexp.MustCompile(`msg="ready at [^"]*" url=(\S+)`)

// startServe runs the controller binary with a Slurm executor on data and
// returns the process and its URL.
func startServe(t *testing.T, data string) (*testenv.Proc, string) {
	t.Helper()
	p := testenv.StartProc(t, "serve --executor slurm", bin, "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--executor", "slurm", "--slurm-poll", "200ms", "--drain-timeout", "1s")
	return p, p.WaitLog(t, listeningURL, 30*time.Second)[1]
}

// A `bumpserve worker --executor slurm` killed with -9 takes its Slurm
// jobs up again when it restarts, as a controller does: same attempt,
// same Slurm job, nothing run twice.
func TestRestartedWorkerFollowsItsSlurmJobs(t *testing.T) {
	t.Parallel()
	needSlurm(t)
	env := testenv.Start(t, controller.Config{Workers: 0})
	user := env.Client(env.AdminToken)
	token := env.User("cluster1", store.RoleWorker)
	work := t.TempDir()
	startWorker := func() *testenv.Proc {
		p := testenv.StartProc(t, "worker --executor slurm", bin, "worker", "--server", env.URL, "--token", token,
			"--name", "cluster1", "--slots", "2", "--executor", "slurm", "--work-dir", work, "--slurm-poll", "200ms")
		p.WaitLog(t, regexp.MustCompile(`msg="worker started"`), 30*time.Second)
		return p
	}
	first := startWorker()
	ctx := context.Background()
	j, err := user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": 10}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sub submission
	testenv.Eventually(t, 30*time.Second, "job submitted to Slurm", func() bool {
		return jobdir.ReadJSON(filepath.Join(work, "jobs", itoa(j.ID), slurmFile), &sub) == nil
	})
	awaitRunning(t, sub.SlurmID)
	first.Cmd.Process.Signal(syscall.SIGKILL)
	<-first.Ended

	second := startWorker()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	final, err := user.Watch(wctx, j.ID, func(*client.Job) error { return nil })
	if err != nil {
		t.Fatalf("job %d did not end: %v", j.ID, err)
	}
	if final.State != job.Complete || final.Attempt != 1 {
		t.Errorf("job %d ended %s %q at attempt %d; want COMPLETE at attempt 1\nworker log:\n%s",
			j.ID, final.State, final.Reason, final.Attempt, second.Log())
	}
	if st := slurmState(sub.SlurmID); st == "CANCELLED" {
		t.Errorf("Slurm job %s was cancelled", sub.SlurmID)
	}
	logText, _ := os.ReadFile(filepath.Join(string(env.C.Root.Job(j.ID)), "output", "job.log"))
	if !strings.Contains(string(logText), "following Slurm job "+sub.SlurmID+" again") {
		t.Errorf("the job log does not say the job was followed again:\n%s", logText)
	}
}
