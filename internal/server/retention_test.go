package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/retention"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// clock is the controller's clock in these tests: real time plus an
// offset the test moves, so that finished jobs age by days at once.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// metric reads one sample of /metrics ("name{labels}" as exposed), or -1.
func metric(t *testing.T, env *testenv.Env, series string) float64 {
	t.Helper()
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func gone(cl *client.Client, id int64) bool {
	_, err := cl.Get(context.Background(), id)
	return client.IsNotFound(err)
}

// TestRetention: the cleaner deletes finished jobs once past their
// state's age, through the queue (watchers see the job go) and with its
// files; a pinned job survives until unpinned; every deletion is counted.
func TestRetention(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	policy, err := retention.Parse("COMPLETE=1d,ERROR=36h,CANCEL=1h")
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, controller.Config{Workers: 1, Now: clk.Now, Retain: policy, RetainInterval: 20 * time.Millisecond})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)
	ctx := context.Background()
	submit := func(spec string) int64 {
		t.Helper()
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(spec)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	kept, done, failed := submit(`{"seconds":0}`), submit(`{"seconds":0}`), submit(`{"seconds":0,"fail":true,"message":"no"}`)
	waitState(t, cl, kept, 10*time.Second, job.Complete)
	waitState(t, cl, done, 10*time.Second, job.Complete)
	waitState(t, cl, failed, 10*time.Second, job.Error)
	cancelled := submit(`{"seconds":60}`)
	if _, err := cl.Cancel(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	waitState(t, cl, cancelled, 10*time.Second, job.Cancel)
	if j, err := cl.Keep(ctx, kept, true); err != nil || !j.Keep {
		t.Fatalf("keep job %d: %+v, %v", kept, j, err)
	}
	dir := filepath.Join(env.Data, "jobs", strconv.FormatInt(done, 10))
	if _, err := os.Stat(filepath.Join(dir, "output")); err != nil {
		t.Fatalf("job %d has no files to delete: %v", done, err)
	}
	watch := env.C.Queue.Events.Subscribe(done, "")
	defer watch.Close()

	// Two hours on: only the CANCEL job (1 h) is past its age.
	clk.Advance(2 * time.Hour)
	testenv.Eventually(t, 10*time.Second, "the cancelled job is deleted", func() bool { return gone(cl, cancelled) })
	for _, id := range []int64{kept, done, failed} {
		if gone(cl, id) {
			t.Fatalf("job %d deleted two hours after it ended", id)
		}
	}
	// 26 hours on: the COMPLETE job (1 d) goes, the ERROR one (36 h) not yet.
	clk.Advance(24 * time.Hour)
	testenv.Eventually(t, 10*time.Second, "the COMPLETE job is deleted", func() bool { return gone(cl, done) })
	if gone(cl, failed) {
		t.Fatalf("ERROR job %d deleted before its 36 hours", failed)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job %d's directory is still there: %v", done, err)
	}
	// Watchers were told, as of a user's delete.
	sawDeleted := false
	for !sawDeleted {
		select {
		case <-watch.Ready():
			for _, j := range watch.Take() {
				sawDeleted = sawDeleted || j.Deleted
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no Deleted event for the expired job")
		}
	}
	clk.Advance(24 * time.Hour)
	testenv.Eventually(t, 10*time.Second, "the ERROR job is deleted", func() bool { return gone(cl, failed) })
	// Two more whole passes later the pinned job is still there.
	passes := metric(t, env, "bumpserve_retention_passes_total")
	testenv.Eventually(t, 10*time.Second, "two more cleaner passes", func() bool {
		return metric(t, env, "bumpserve_retention_passes_total") >= passes+2
	})
	if j, err := cl.Get(ctx, kept); err != nil || !j.Keep {
		t.Fatalf("pinned job %d after the cleaner's passes: %+v, %v", kept, j, err)
	}
	for st, want := range map[string]float64{"COMPLETE": 1, "ERROR": 1, "CANCEL": 1} {
		if got := metric(t, env, fmt.Sprintf(`bumpserve_retention_deleted_total{state=%q}`, st)); got != want {
			t.Errorf("deleted_total{state=%s} = %g, want %g", st, got, want)
		}
	}
	// Unpinned, it goes too.
	if _, err := cl.Keep(ctx, kept, false); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the unpinned job is deleted", func() bool { return gone(cl, kept) })
}

// TestDiskQuota: a submission while the user's jobs hold their quota is
// refused 413 naming usage and quota; deleting a job makes room. A
// finished job's directory is measured and counts whole.
func TestDiskQuota(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1, RetainInterval: 20 * time.Millisecond,
		Server: server.Config{UserDiskMB: 1}})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte(strings.Repeat("1 2 3\n", 100_000)), 0o644); err != nil { // 600,000 bytes
		t.Fatal(err)
	}
	upload := []client.Upload{{Name: "data.txt", Path: data}}
	first, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, upload)
	if err != nil {
		t.Fatal(err)
	}
	if first.DiskBytes != 600_000 {
		t.Fatalf("disk_bytes at submission = %d, want the upload's 600000", first.DiskBytes)
	}
	_, err = cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, upload)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusRequestEntityTooLarge ||
		!strings.Contains(ce.Message, "hold 0.6 MB of your 1.0 MB") || !strings.Contains(ce.Message, "--user-disk-mb") ||
		!strings.Contains(ce.Message, "add 0.6 MB") {
		t.Fatalf("a submission past the quota: %v; want 413 naming 0.6 MB held of 1.0 MB and the 0.6 MB added", err)
	}
	// The first job finishes and is measured: its output counts too.
	waitState(t, cl, first.ID, 10*time.Second, job.Complete)
	var listed int64
	files, err := cl.Files(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		listed += f.Size
	}
	testenv.Eventually(t, 10*time.Second, "the finished job is measured", func() bool {
		j, err := cl.Get(ctx, first.ID)
		return err == nil && j.DiskBytes > 600_000
	})
	j, _ := cl.Get(ctx, first.ID)
	if j.DiskBytes < listed {
		t.Errorf("measured disk_bytes %d is less than its listed files' %d bytes", j.DiskBytes, listed)
	}
	u, err := cl.Usage(ctx, "", "")
	if err != nil || len(u.Users) != 1 || u.Users[0].User != "alice" || u.Users[0].DiskBytes != j.DiskBytes || u.DiskQuotaBytes != 1<<20 {
		t.Fatalf("alice's usage = %+v, %v; want her one job's %d bytes and a 1 MB quota", u, err, j.DiskBytes)
	}
	if got := metric(t, env, `bumpserve_user_disk_bytes{user="alice"}`); got != float64(j.DiskBytes) {
		t.Errorf(`bumpserve_user_disk_bytes{user="alice"} = %g, want %d`, got, j.DiskBytes)
	}
	if err := cl.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, upload); err != nil {
		t.Fatalf("a submission once a job was deleted to make room: %v", err)
	}
}
