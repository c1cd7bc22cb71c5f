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
	const slots = 2
	b, pool := slurmWorker(t, slots)
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
	res, err := b.c.Results(context.Background(), ids[0])
	if err != nil || len(res) == 0 {
		t.Fatalf("results: %s, %v", res, err)
	}
	if n := b.ex.Stats().WidestCycle; n > slots {
		t.Errorf("%d jobs in Slurm at once from a worker of %d slots", n, slots)
	}
}

// A native fit that Slurm runs behind an HTTP worker checkpoints into the
// worker's own job directory, which the job's next attempt on another
// worker never sees: the worker sends each checkpoint to the controller,
// as it does for a job on its local slots.
func TestSlurmBehindAWorkerSendsCheckpoints(t *testing.T) {
	b, _ := slurmWorker(t, 2)
	j := b.submit(t, "fit", string(testenv.SeededDREAMSpec(150000, 2000, 1)))
	testenv.Eventually(t, 2*time.Minute, "a checkpoint of job "+itoa(j.ID)+" in the controller's job directory", func() bool {
		return savedStep(b.dir(j.ID)) > 0
	})
	if _, err := b.c.Cancel(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, b.wait(t, j.ID, time.Minute), job.Cancel, "")
}

// slurmWorker starts a controller without slots of its own and an HTTP
// worker, `bumpserve worker --executor slurm` on a cluster's head node,
// whose slots run jobs through Slurm.
func slurmWorker(t *testing.T, slots int) (*bundle, *worker.Pool) {
	t.Parallel()
	needSlurm(t)
	env := testenv.Start(t, controller.Config{Workers: 0})
	ex, err := New(Config{Bin: bin, Poll: 200 * time.Millisecond, ExitGrace: 2 * time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	src := &worker.RemoteSource{Client: env.Client(env.User("cluster1", store.RoleWorker)), Name: "cluster1", Slots: slots,
		WorkDir: t.TempDir(), MaxInput: 1 << 20, Logger: testLogger()}
	pool, err := worker.NewPool(worker.Config{Name: "cluster1", Slots: slots, Source: src, Services: service.Builtin(),
		Executor: ex, Drain: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Background(t, pool.Run)
	return &bundle{env: env, c: env.Client(env.AdminToken), ex: ex}, pool
}
