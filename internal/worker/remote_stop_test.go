package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestRemoteStopKeepsResults: a stop asked through the API reaches a fit
// on a remote worker with a heartbeat's answer, and the job ends
// COMPLETE with what it found (a native DREAM fit: the draws so far),
// marked stopped; a Bumps fit stops the same way.
func TestRemoteStopKeepsResults(t *testing.T) {
	t.Parallel()
	// Far more steps than the test could wait for: only a stop ends them.
	native := `{"fitter":"dream","options":{"seed":3,"samples":100000000,"burn":10},"parameters":{"a":{"value":1,"min":0,"max":5}},` +
		`"datasets":[{"model":"a*x","x":[1,2,3],"y":[1.1,1.9,3.2],"dy":[0.1,0.1,0.1]}]}`
	t.Run("native", func(t *testing.T) {
		t.Parallel()
		remoteStop(t, client.Submission{Service: "fit", Spec: json.RawMessage(native)}, nil)
	})
	t.Run("bumps", func(t *testing.T) {
		t.Parallel()
		sub, files := testenv.EndlessBumpsFit(t)
		remoteStop(t, sub, files)
	})
}

func remoteStop(t *testing.T, sub client.Submission, files []client.Upload) {
	b := setup(t, 3*time.Second) // heartbeats every second
	b.runPool(t, "node1", 1)
	ctx := context.Background()
	j, err := b.user.Submit(ctx, sub, files)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "the fit making progress on node1", func() bool {
		g, _ := b.user.Get(ctx, j.ID)
		return g.State == job.Active && g.Worker == "node1" && g.Progress != nil && g.Progress.Step > 0
	})
	if _, err := b.user.Stop(ctx, j.ID); err != nil {
		t.Fatalf("stop a fit on a remote worker: %v", err)
	}
	var last *client.Job
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(60 * time.Second); ; <-tick.C {
		last, _ = b.user.Get(ctx, j.ID)
		if last != nil && last.State.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ended within 60 s of the stop: %+v (progress %+v)", last, last.Progress)
		}
	}
	if final := last; final.State != job.Complete {
		t.Fatalf("stopped job = %s (%s); want COMPLETE", final.State, final.Reason)
	}
	raw, err := b.user.Results(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Stopped bool    `json:"stopped"`
		Chisq   float64 `json:"chisq"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || !res.Stopped || res.Chisq <= 0 {
		t.Errorf("results = %s (%v); want a best point marked \"stopped\": true", raw, err)
	}
}
