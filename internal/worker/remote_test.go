package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/leasetest"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
	"github.com/bumpserve/bumpserve/internal/worker"
)

type bundle struct {
	env    *testenv.Env
	user   *client.Client
	worker *client.Client
}

func setup(t *testing.T, lease time.Duration) *bundle {
	env := testenv.Start(t, controller.Config{Workers: 0, Lease: lease, ExtraServices: []service.Service{testenv.PanicService{}}})
	return &bundle{env: env, user: env.Client(env.AdminToken), worker: env.Client(env.User("cluster1", store.RoleWorker))}
}

// runPool runs a remote pool of slots until the test ends, starting as
// `bumpserve worker` does (sweeping what an earlier run left).
func (b *bundle) runPool(t *testing.T, name string, slots int) {
	src := &worker.RemoteSource{Client: b.worker, Name: name, Slots: slots, WorkDir: t.TempDir(), MaxInput: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	services := service.Builtin()
	services["panic"] = testenv.PanicService{}
	pool, err := worker.NewPool(worker.Config{Name: name, Slots: slots, Source: src, Services: services,
		Drain: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	src.Sweep()
	testenv.Background(t, pool.Run)
}

func TestRemoteWorkerRunsJobWithFiles(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.runPool(t, "node1", 2)
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	os.WriteFile(data, []byte("1 2.1\n2 3.9\n3 6.2\n4 7.8\n5 10.1\n"), 0o644)
	spec := `{"fitter":"lm","parameters":{"a":{"value":1},"b":{"value":0}},"datasets":[{"model":"a*x+b","file":"data.txt","columns":["x","y"]}]}`
	j, err := b.user.Submit(ctx, client.Submission{Service: "fit", Spec: json.RawMessage(spec)}, []client.Upload{{Path: data}})
	if err != nil {
		t.Fatal(err)
	}
	final, err := b.user.Watch(ctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != job.Complete || final.Worker != "node1" {
		t.Fatalf("final = %+v, %v", final, err)
	}
	res, _ := b.user.Results(ctx, j.ID)
	if !strings.Contains(string(res), `"chisq"`) {
		t.Errorf("results = %s", res)
	}
	files, _ := b.user.Files(ctx, j.ID)
	var names []string
	for _, f := range files {
		names = append(names, f.Path)
	}
	for _, want := range []string{"input/data.txt", "output/results.json", "output/fit.svg", "output/job.log"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("files %v lack %s", names, want)
		}
	}
	list, err := b.user.Workers(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "node1" || list[0].Slots != 2 {
		t.Errorf("workers = %+v, %v", list, err)
	}
}

func TestRemoteCancelAndTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, 600*time.Millisecond) // heartbeats every 200 ms
	b.runPool(t, "node1", 1)
	ctx := context.Background()
	j, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":60,"exec":true}`)}, nil)
	testenv.Eventually(t, 10*time.Second, "running remotely", func() bool {
		g, _ := b.user.Get(ctx, j.ID)
		return g.State == job.Active
	})
	if _, err := b.user.Cancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "cancel reaches the remote job", func() bool {
		g, _ := b.user.Get(ctx, j.ID)
		return g.State == job.Cancel
	})
	// User tokens cannot use worker routes, nor workers the user routes;
	// a worker acts only on jobs it holds.
	if _, err := b.user.Claim(ctx, api.ClaimRequest{Name: "x", Free: 1}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("user claim: %v", err)
	}
	if _, err := b.worker.List(ctx, client.ListOptions{}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("worker list: %v", err)
	}
	other, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil)
	if _, err := b.worker.Heartbeat(ctx, other.ID, api.HeartbeatRequest{Token: "guess"}); !errors.Is(err, job.ErrLeaseLost) {
		t.Errorf("heartbeat on a job not held: %v", err)
	}
	if _, err := b.worker.Complete(ctx, other.ID, api.CompleteRequest{Token: "guess", State: job.Complete}, ""); !errors.Is(err, job.ErrLeaseLost) {
		t.Errorf("complete on a job not held: %v", err)
	}
}

// A late result from an expired lease is refused and changes nothing.
func TestLateResultRefused(t *testing.T) {
	t.Parallel()
	clock := leasetest.NewClock()
	env := testenv.Start(t, controller.Config{Workers: 0, Now: clock.Now})
	b := &bundle{env: env, user: env.Client(env.AdminToken), worker: env.Client(env.User("cluster1", store.RoleWorker))}
	ctx := context.Background()
	j, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil)
	got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "slow", Free: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	clock.Advance(env.C.Queue.Lease() + time.Second)
	if _, err := env.C.Queue.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if g, _ := b.user.Get(ctx, j.ID); g.State != job.Pending || g.Attempt != 2 {
		t.Fatalf("after its lease the job is %s attempt %d, want PENDING attempt 2", g.State, g.Attempt)
	}
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "evil.txt"), []byte("late"), 0o644)
	_, err = b.worker.Complete(ctx, j.ID, api.CompleteRequest{Token: got[0].LeaseToken, State: job.Complete, Result: json.RawMessage(`{"late":true}`)}, out)
	if !errors.Is(err, job.ErrLeaseLost) {
		t.Fatalf("late complete: %v", err)
	}
	g, _ := b.user.Get(ctx, j.ID)
	files, _ := b.user.Files(ctx, j.ID)
	if g.State != job.Pending || len(files) != 0 {
		t.Errorf("late result changed the job: %s, files %v", g.State, files)
	}
}

// A claim asks only for free CPUs: a 2-slot worker never holds three
// one-CPU jobs, nor a job wider than its slots; max_jobs caps the jobs.
func TestClaimsRespectSlots(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	for range 4 {
		b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil)
	}
	wide, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"resources":{"cpus":4}}`)}, nil)
	if got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 2, Free: 2, MaxJobs: 1}); err != nil || len(got) != 1 {
		t.Fatalf("claim with 2 free, max_jobs 1 = %d jobs, %v", len(got), err)
	}
	if _, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 2, Free: 2, MaxJobs: -1}); err == nil || !strings.Contains(err.Error(), "max_jobs") {
		t.Errorf("claim with max_jobs -1: %v", err)
	}
	got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 2, Free: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("claim with 2 free = %d jobs, %v", len(got), err)
	}
	got, _ = b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 2, Free: 1})
	if len(got) != 1 || got[0].ID == wide.ID {
		t.Fatalf("claim with 1 free = %v", got)
	}
	// A long poll returns as soon as work arrives.
	start := time.Now()
	done := make(chan []api.ClaimedJob)
	go func() {
		got, _ := b.worker.Claim(ctx, api.ClaimRequest{Name: "m", Slots: 1, Free: 1, WaitSeconds: 30})
		done <- got
	}()
	testenv.Eventually(t, 5*time.Second, "worker waiting", func() bool {
		list, _ := b.user.Workers(ctx)
		return len(list) == 2
	})
	next, _ := b.user.Submit(ctx, client.Submission{Service: "sleep"}, nil)
	if got := <-done; len(got) != 1 || got[0].ID != next.ID {
		t.Fatalf("long poll got %v", got)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Errorf("long poll took %v", waited)
	}
	_ = fmt.Sprint
}

// A worker that restarts under the same name has the jobs its earlier run
// held requeued at once (attempt+1), not after their leases end.
func TestRestartedWorkerHandsBackItsJobs(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour) // a lease that would outlast the test
	ctx := context.Background()
	j, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil)
	if got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "node9", Slots: 1, Free: 1}); err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	b.runPool(t, "node9", 1) // the same name, as after a crash
	testenv.Eventually(t, 10*time.Second, "the job reruns", func() bool {
		g, _ := b.user.Get(ctx, j.ID)
		return g.State == job.Complete && g.Attempt == 2
	})
}

// One worker identity cannot hand back the jobs another holds by naming
// its workers.
func TestReconcileIsPerIdentity(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	ctx := context.Background()
	j, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil)
	if got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "shared-name", Slots: 1, Free: 1}); err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	intruder := b.env.Client(b.env.User("intruder", store.RoleWorker))
	for _, restarted := range []bool{false, true} {
		released, err := intruder.Reconcile(ctx, api.ReconcileRequest{Name: "shared-name", Restarted: restarted})
		if err != nil || len(released) != 0 {
			t.Fatalf("intruder's reconcile = %v, %v", released, err)
		}
	}
	if g, _ := b.user.Get(ctx, j.ID); g.State != job.Active || g.Attempt != 1 {
		t.Fatalf("job after the intruder's reconcile: %s attempt %d", g.State, g.Attempt)
	}
	released, err := b.worker.Reconcile(ctx, api.ReconcileRequest{Name: "shared-name", Restarted: true})
	if err != nil || len(released) != 1 {
		t.Fatalf("owner's reconcile = %v, %v", released, err)
	}
}

// A completion may bring the slot's next job, leased as by a claim: one
// job, no wider than the CPUs the slot asks for; none when nothing fits.
func TestCompletionBringsNextJob(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	sleep := func(spec string) *client.Job {
		j, err := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(spec)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	first := sleep(`{"seconds":0}`)
	got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 2, Free: 1})
	if err != nil || len(got) != 1 || got[0].ID != first.ID {
		t.Fatalf("claim = %v, %v", got, err)
	}
	wide, narrow := sleep(`{"seconds":0,"resources":{"cpus":2}}`), sleep(`{"seconds":0}`)
	complete := func(c api.ClaimedJob, next *api.NextRequest) []api.ClaimedJob {
		t.Helper()
		js, err := b.worker.Complete(ctx, c.ID, api.CompleteRequest{Token: c.LeaseToken, State: job.Complete, Next: next}, "")
		if err != nil {
			t.Fatalf("complete job %d: %v", c.ID, err)
		}
		return js
	}
	// One CPU asked for: the narrow job, though the wide one came first.
	next := complete(got[0], &api.NextRequest{Name: "n", Free: 1})
	if len(next) != 1 || next[0].ID != narrow.ID || next[0].LeaseToken == "" {
		t.Fatalf("next after the first job = %+v; want job %d", next, narrow.ID)
	}
	if j, _ := b.user.Get(ctx, narrow.ID); j.State != job.Active || j.Worker != "n" {
		t.Errorf("follow-on job %d is %s on %q; want ACTIVE on n", narrow.ID, j.State, j.Worker)
	}
	next = complete(next[0], &api.NextRequest{Name: "n", Free: 2})
	if len(next) != 1 || next[0].ID != wide.ID {
		t.Fatalf("next with two CPUs = %+v; want job %d", next, wide.ID)
	}
	if next = complete(next[0], &api.NextRequest{Name: "n", Free: 2}); len(next) != 0 {
		t.Errorf("next with nothing pending = %+v", next)
	}
	for _, id := range []int64{first.ID, narrow.ID, wide.ID} {
		if j, _ := b.user.Get(ctx, id); j.State != job.Complete {
			t.Errorf("job %d is %s", id, j.State)
		}
	}
	// A bad follow-on request is refused before anything is recorded.
	last := sleep(`{"seconds":0}`)
	got, _ = b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 1, Free: 1})
	_, err = b.worker.Complete(ctx, last.ID, api.CompleteRequest{Token: got[0].LeaseToken, State: job.Complete,
		Next: &api.NextRequest{Free: 1}}, "")
	if err == nil || !strings.Contains(err.Error(), "next.name") {
		t.Errorf("complete with a nameless next: %v", err)
	}
	if j, _ := b.user.Get(ctx, last.ID); j.State != job.Active {
		t.Errorf("refused completion changed job %d to %s", last.ID, j.State)
	}
}

// Progress a worker's heartbeat carries reaches the job's watchers.
func TestHeartbeatProgressIsPublished(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	j, _ := b.user.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil)
	got, err := b.worker.Claim(ctx, api.ClaimRequest{Name: "n", Slots: 1, Free: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	sub := b.env.C.Queue.Events.Subscribe(j.ID, "")
	defer sub.Close()
	if _, err := b.worker.Heartbeat(ctx, j.ID, api.HeartbeatRequest{Token: got[0].LeaseToken, Name: "n",
		Progress: &job.Progress{Step: 7, Message: "halfway"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-sub.Ready():
		case <-deadline:
			t.Fatal("no event with the heartbeat's progress")
		}
		for _, e := range sub.Take() {
			if e.Progress != nil && e.Progress.Step == 7 && e.Progress.Message == "halfway" {
				return
			}
		}
	}
}
