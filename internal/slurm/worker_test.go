package slurm

import (
	"context"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
	"github.com/bumpserve/bumpserve/internal/worker"
)

// `bumpserve worker --executor slurm` on a cluster's head node: a remote
// pool pulls jobs from a central controller and runs them through its
// local Slurm, taking no more than its slots.
func TestRemoteWorkerRunsJobsThroughSlurm(t *testing.T) {
	t.Parallel()
	needSlurm(t)
	env := testenv.Start(t, controller.Config{Workers: 0})
	user := env.Client(env.AdminToken)
	ex, err := New(Config{Bin: bin, Poll: 200 * time.Millisecond, ExitGrace: 2 * time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	const slots = 2
	src := &worker.RemoteSource{Client: env.Client(env.User("cluster1", store.RoleWorker)), Name: "cluster1", Slots: slots,
		WorkDir: t.TempDir(), MaxInput: 1 << 20, Logger: testLogger()}
	pool, err := worker.NewPool(worker.Config{Name: "cluster1", Slots: slots, Source: src, Services: service.Builtin(),
		Executor: ex, Drain: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	b := &bundle{env: env, c: user, ex: ex}
	ids := []int64{}
	for range 4 {
		ids = append(ids, b.submit(t, "sleep", `{"seconds": 1.5, "message": "from the cluster"}`).ID)
	}
	testenv.Eventually(t, 30*time.Second, "the worker's slots full", func() bool { return pool.Running() == slots })
	for _, id := range ids {
		final := b.wait(t, id, time.Minute)
		wantState(t, final, job.Complete, "")
		if final.Worker != "cluster1" {
			t.Errorf("job %d ran on %q; want cluster1", id, final.Worker)
		}
	}
	res, err := user.Results(context.Background(), ids[0])
	if err != nil || len(res) == 0 {
		t.Fatalf("results: %s, %v", res, err)
	}
	if n := ex.Stats().WidestCycle; n > slots {
		t.Errorf("%d jobs in Slurm at once from a worker of %d slots", n, slots)
	}
}
