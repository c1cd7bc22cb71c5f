package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// e2eUIDs is a range of its own: New sweeps its range's cgroups, which
// must not be the other tests' (they share one sandbox on the default).
var e2eUIDs = [2]int{62000, 62099}

// TestControllerRunsJobsConfined submits a sleep job that runs coreutils
// sleep (through env.Command) to a controller whose slot runs jobs in the
// sandbox: the job completes, its record lists the protections, and a
// cancelled job leaves no process behind.
func TestControllerRunsJobsConfined(t *testing.T) {
	t.Parallel()
	sb, e := startConfined(t, e2eUIDs, 1)
	c := e.Client(e.AdminToken)
	ctx := context.Background()

	j := submit(t, c, `{"seconds": 0.2, "exec": true}`)
	j = waitState(t, c, j.ID, func(s job.State) bool { return s.Terminal() })
	if j.State != job.Complete {
		t.Fatalf("confined sleep job ended %s: %s", j.State, j.Reason)
	}
	if !slices.Equal(j.Protections, sb.Available()) {
		t.Errorf("job protections = %v, want %v", j.Protections, sb.Available())
	}
	if !slices.ContainsFunc(j.Protections, func(p string) bool { return strings.HasPrefix(p, "landlock-v") }) {
		t.Errorf("job protections %v name no Landlock", j.Protections)
	}

	long := submit(t, c, `{"seconds": 300, "exec": true}`)
	waitState(t, c, long.ID, func(s job.State) bool { return s == job.Active })
	pidFile := e.Data + "/jobs/" + strconv.FormatInt(long.ID, 10) + "/proc.json"
	var rec struct{ PID int }
	testenv.Eventually(t, 10*time.Second, "the sleep process is recorded", func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && json.Unmarshal(b, &rec) == nil && rec.PID > 0
	})
	if _, err := c.Cancel(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	long = waitState(t, c, long.ID, func(s job.State) bool { return s.Terminal() })
	if long.State != job.Cancel {
		t.Fatalf("cancelled job ended %s: %s", long.State, long.Reason)
	}
	testenv.Eventually(t, 10*time.Second, "the cancelled job's process is gone", func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(rec.PID))
		return err != nil
	})
}

// startConfined starts a controller with slots whose jobs run in a
// sandbox on uid range uids.
func startConfined(t *testing.T, uids [2]int, slots int) (*sandbox.Sandbox, *testenv.Env) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{UIDs: uids, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb, testenv.Start(t, controller.Config{Workers: slots, Runner: confine.New(sb)})
}

func submit(t *testing.T, c *client.Client, spec string) *job.Job {
	t.Helper()
	j, err := c.Submit(context.Background(), client.Submission{Service: "sleep", Spec: json.RawMessage(spec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func waitState(t *testing.T, c *client.Client, id int64, ok func(job.State) bool) *job.Job {
	t.Helper()
	var j *job.Job
	testenv.Eventually(t, 20*time.Second, "job "+strconv.FormatInt(id, 10)+" reaches the state", func() bool {
		var err error
		j, err = c.Get(context.Background(), id)
		return err == nil && ok(j.State)
	})
	return j
}
