package controller_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// With the data directory on a small file system filled to the brim, the
// server stays up and logs each failure at most once a minute; new
// submissions get 507; a running job can still be cancelled and a queued
// one deleted (even after something else took the room the first reserve
// gave back); once space returns, everything works again.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	mnt := testenv.SmallDisk(t, "48m")
	var log testenv.Log
	data := filepath.Join(mnt, "data")
	env := testenv.Start(t, controller.Config{Data: data, Workers: 1, Lease: 2 * time.Second, Logger: log.Logger()})
	cl := env.Client(env.AdminToken)
	ctx := context.Background()

	running := submit(t, cl, `{"seconds":120}`)
	waitFor(t, cl, running.ID, "running", inState(job.Active))
	upload := filepath.Join(t.TempDir(), "big.dat")
	if err := os.WriteFile(upload, make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	queued, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":120}`)}, []client.Upload{{Path: upload}})
	if err != nil {
		t.Fatal(err)
	}

	testenv.FillDisk(t, mnt)
	refused := func() {
		t.Helper()
		_, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusInsufficientStorage || !strings.Contains(ce.Message, "disk full") {
			t.Fatalf("submission on a full disk: %v, want 507 disk full", err)
		}
	}
	refused()
	// The running job's next heartbeat finds the disk full and the first
	// reserve goes; then something takes that room too.
	testenv.Eventually(t, 20*time.Second, "a full write gives up the first reserve", func() bool {
		_, err := os.Stat(filepath.Join(data, "disk.reserve"))
		return os.IsNotExist(err)
	})
	testenv.FillDisk(t, mnt)
	// Now writes that need new room fail (heartbeats, so the lease runs
	// out, then the reaper's requeues, again and again), unless SQLite
	// finds room to reuse in its write-ahead log.
	for range 100 {
		refused()
	}
	if _, err := cl.Cancel(ctx, running.ID); err != nil {
		t.Fatalf("cancel on a full disk: %v", err)
	}
	testenv.FillDisk(t, mnt)
	if err := cl.Delete(ctx, queued.ID); err != nil {
		t.Fatalf("delete on a full disk: %v", err)
	}
	if _, err := cl.Get(ctx, queued.ID); !client.IsNotFound(err) {
		t.Errorf("deleted job: %v", err)
	}
	if resp, err := http.Get(env.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz on a full disk: %v %v", resp, err)
	}
	for _, kind := range []string{"requeue expired leases", "claim"} {
		if n := log.Lines(`msg="` + kind); n > 1 {
			t.Errorf("%q logged %d times within a minute, want at most once", kind, n)
		}
	}
	if n := log.Lines("level=ERROR") + log.Lines("level=WARN"); n > 30 {
		t.Errorf("%d warnings and errors logged:\n%s", n, log.String())
	}

	// Space returns: the reserves come back and submissions are taken.
	fills, _ := filepath.Glob(filepath.Join(mnt, "fill-*"))
	for _, f := range fills {
		os.Remove(f)
	}
	var next *client.Job
	testenv.Eventually(t, 60*time.Second, "submissions accepted again", func() bool {
		next, err = cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, nil)
		return err == nil
	})
	waitFor(t, cl, running.ID, "the cancelled job ends", func(j *client.Job) bool { return j.State.Terminal() })
	testenv.Eventually(t, 60*time.Second, "the next job completes", func() bool {
		j, err := cl.Get(ctx, next.ID)
		return err == nil && j.State == job.Complete
	})
	for _, name := range []string{"disk.reserve", "disk.reserve-users"} {
		if _, err := os.Stat(filepath.Join(data, name)); err != nil {
			t.Errorf("reserve not restored: %v", err)
		}
	}
}
