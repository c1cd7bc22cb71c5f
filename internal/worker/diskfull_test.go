package worker_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A remote job whose output the controller's full disk cannot take ends
// ERROR naming the full disk, at its first attempt, instead of staying
// ACTIVE and running again onto the same full disk.
func TestRemoteResultOnFullDisk(t *testing.T) {
	t.Parallel()
	mnt := testenv.SmallDisk(t, "48m")
	env := testenv.Start(t, controller.Config{Data: filepath.Join(mnt, "data"), Workers: 0,
		ExtraServices: []service.Service{testenv.PanicService{}}})
	b := &bundle{env: env, user: env.Client(env.AdminToken), worker: env.Client(env.User("cluster1", store.RoleWorker))}
	ctx := context.Background()
	j, err := b.user.Submit(ctx, client.Submission{Service: "panic", Spec: json.RawMessage(`{"in":"none","output_mb":20}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.FillDisk(t, mnt)
	b.runPool(t, "node1", 1)
	var end *client.Job
	testenv.Eventually(t, 60*time.Second, "the job ends", func() bool {
		end, err = b.user.Get(ctx, j.ID)
		return err == nil && end.State.Terminal()
	})
	if end.State != job.Error || end.Reason != "disk full: the job's result could not be stored" || end.Attempt != 1 {
		t.Errorf("job ended %s %q after attempt %d, want ERROR disk full after 1", end.State, end.Reason, end.Attempt)
	}
}
