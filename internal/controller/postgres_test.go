package controller_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The whole path on PostgreSQL: submit over HTTP, a local slot runs the
// job, its results come back over HTTP.
func TestPostgresEndToEnd(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Store: pgtest.URL(t), Workers: 1})
	cl := env.Client(env.AdminToken)
	j := submit(t, cl, `{"seconds":0,"message":"hello"}`)
	waitFor(t, cl, j.ID, "complete", inState(job.Complete))
	res, err := cl.Results(context.Background(), j.ID)
	if err != nil || !json.Valid(res) {
		t.Fatalf("results = %s, %v", res, err)
	}
	files, err := cl.Files(context.Background(), j.ID)
	if err != nil || len(files) == 0 {
		t.Fatalf("files = %v, %v", files, err)
	}
}

// Two controllers on one PostgreSQL and one job directory: a job
// submitted to the one without slots is run by the other's slot (woken
// by the change, not by a poll); the first one's event stream follows
// it; a cancel sent to the first stops it on the second at once, long
// before any heartbeat would have told it.
func TestTwoControllersShareWork(t *testing.T) {
	t.Parallel()
	url, data := pgtest.URL(t), t.TempDir()
	// Heartbeats every few minutes: only a notification can be fast.
	front := testenv.Start(t, controller.Config{Store: url, Data: data, Workers: 0, Name: "front", Lease: 10 * time.Minute})
	back := testenv.Start(t, controller.Config{Store: url, Data: data, Workers: 1, Name: "back", Lease: 10 * time.Minute})
	if back.AdminToken != "" {
		t.Fatal("the second controller created a second admin")
	}
	cl := front.Client(front.AdminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	quick := submit(t, cl, `{"seconds":0}`)
	end, err := cl.Watch(ctx, quick.ID, func(*client.Job) error { return nil }) // the front's event stream
	if err != nil || end.State != job.Complete || end.Worker != "back" {
		t.Fatalf("job watched on the front = %+v, %v", end, err)
	}

	long := submit(t, cl, `{"seconds":600}`)
	waitFor(t, cl, long.ID, "running on the back", func(j *client.Job) bool { return j.State == job.Active && j.Worker == "back" })
	if _, err := cl.Cancel(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, cl, long.ID, "cancelled", inState(job.Cancel))
}
