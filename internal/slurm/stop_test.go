package slurm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A fit run by Slurm stops early too: the stop reaches run-job on the
// node through the request left in the shared job directory, and the job
// ends COMPLETE with what the fit found, marked stopped — a native DREAM
// fit and a Bumps one alike.
func TestSlurmStopKeepsResults(t *testing.T) {
	t.Run("native", func(t *testing.T) {
		b := setup(t, Config{}, 1)
		// Far more draws than the test could wait for: only a stop ends it.
		j := b.submit(t, "fit", string(testenv.SeededDREAMSpec(100000000, 100, 1)))
		stopWhenRunning(t, b, j.ID)
	})
	t.Run("bumps", func(t *testing.T) {
		sub, files := testenv.EndlessBumpsFit(t)
		b := setup(t, Config{}, 1)
		j, err := b.c.Submit(context.Background(), sub, files)
		if err != nil {
			t.Fatal(err)
		}
		stopWhenRunning(t, b, j.ID)
	})
}

// stopWhenRunning stops job id once Slurm runs it and it has made a step,
// and checks that it ends COMPLETE with its results marked stopped.
func stopWhenRunning(t *testing.T, b *bundle, id int64) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 2*time.Minute, "the fit making steps under Slurm", func() bool {
		g, err := b.c.Get(ctx, id)
		return err == nil && g.State == job.Active && g.Progress != nil && g.Progress.Step > 0
	})
	if _, err := b.c.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	final := b.wait(t, id, 2*time.Minute)
	wantState(t, final, job.Complete, "")
	raw, err := b.c.Results(ctx, id)
	var res struct {
		Stopped bool
		Warning string
	}
	if err != nil || json.Unmarshal(raw, &res) != nil || !res.Stopped || !strings.HasPrefix(res.Warning, "stopped early by request") {
		t.Errorf("results of the stopped fit: %v %.400s", err, raw)
	}
}
