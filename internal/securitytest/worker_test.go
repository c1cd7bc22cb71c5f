package securitytest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
	"github.com/bumpserve/bumpserve/internal/worker"
)

// workerUIDs is the remote worker's own range of job user ids in this
// package (hostileUIDs is the controller's).
var workerUIDs = [2]int{64650, 64699}

// TestHostileOutputOnRemoteWorker runs real hostile Bumps models in the
// root sandbox of a remote worker, whose output goes up to the controller
// as a tar. A job that leaves files the controller refuses (more than it
// takes in one upload) ends in ERROR on its first attempt, naming why,
// and the worker's slot runs the next job; sparse files count their full
// length against disk_mb (the upload and the controller's copy are
// dense), so a job cannot have gigabytes of zeros copied for it.
func TestHostileOutputOnRemoteWorker(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "root: jobs get their own uids in the sandbox only as root")
	_, err := os.Stat(service.DefaultBumpsPath)
	testenv.Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb, err := sandbox.New(sandbox.Config{UIDs: workerUIDs, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	env := testenv.Start(t, controller.Config{Workers: 0, Lease: 6 * time.Second})
	cl := env.Client(env.User("alice", store.RoleUser))
	wc := env.Client(env.User("cluster1", store.RoleWorker))

	workerLog := &testenv.Log{}
	wlog := slog.New(slog.NewTextHandler(workerLog, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", workerLog.String())
		}
	})
	src := &worker.RemoteSource{Client: wc, Name: "node1", Slots: 1, WorkDir: t.TempDir(), MaxInput: 1 << 20, Logger: wlog}
	pool, err := worker.NewPool(worker.Config{Name: "node1", Slots: 1, Source: src, Services: service.Builtin(),
		Runner: confine.New(sb), Caps: job.DefaultCaps, Drain: time.Second, Logger: wlog})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Background(t, pool.Run)

	cases := []struct {
		what  string
		leave string // attack.json (see testdata/hostile.py)
		spec  string // limits
		want  string // in the reason; "" means COMPLETE
	}{
		{"more files than an upload takes", `{"files":100001}`, `{}`, "output not accepted by the controller: more than 100000 files"},
		{"sparse files past disk_mb", `{"sparse":40,"sparse_mb":4,"sleep":3}`, `{"disk_mb":5}`, "limit exceeded: disk_mb (5 MB)"},
		{"normal job", `{}`, `{}`, ""},
	}
	jobs := make([]*client.Job, len(cases))
	for i, c := range cases {
		conf := filepath.Join(t.TempDir(), "attack.json")
		if err := os.WriteFile(conf, []byte(c.leave), 0o644); err != nil {
			t.Fatal(err)
		}
		spec := `{"model":"hostile.py","fitter":"amoeba","options":{"steps":20},"limits":` + c.spec + `}`
		jobs[i], err = cl.Submit(context.Background(), client.Submission{Service: "bumps", Spec: json.RawMessage(spec)},
			[]client.Upload{{Name: "hostile.py", Path: filepath.Join("testdata", "hostile.py")}, {Name: "attack.json", Path: conf}})
		if err != nil {
			t.Fatalf("submit %s: %v", c.what, err)
		}
	}
	for i, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			j := waitEnd(t, cl, jobs[i].ID)
			switch {
			case j.Attempt != 1:
				t.Errorf("ran %d times (%s: %s), want once", j.Attempt, j.State, j.Reason)
			case c.want == "" && j.State != job.Complete:
				t.Errorf("ended %s (%s), want COMPLETE", j.State, j.Reason)
			case c.want != "" && (j.State != job.Error || !strings.Contains(j.Reason, c.want)):
				t.Errorf("ended %s with reason %q, want ERROR naming %q", j.State, j.Reason, c.want)
			}
			files, err := cl.Files(context.Background(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, f := range files {
				total += f.Size
			}
			if total > 64<<20 {
				t.Errorf("the controller holds %d MB of the job's files", total>>20)
			}
		})
	}
}
