package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A fit stopped early and then requeued by an admin runs its whole
// length: the stop asked of the first attempt (kept in the job's
// directory for an attempt after a lost one) does not stop the second.
func TestRequeueForgetsAStop(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	cl := env.Client(env.AdminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A few seconds of sampling when left alone.
	spec := `{"fitter":"dream","options":{"seed":4,"samples":2000000,"burn":20},"parameters":{"a":{"value":1,"min":0,"max":5}},` +
		`"datasets":[{"model":"a*x","x":[1,2,3],"y":[1.1,1.9,3.2],"dy":[0.1,0.1,0.1]}]}`
	j, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: json.RawMessage(spec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "the fit samples", func() bool {
		g, err := cl.Get(ctx, j.ID)
		return err == nil && g.Progress != nil && g.Progress.Step > 10
	})
	if _, err := cl.Stop(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	stopped := func(attempt int) bool {
		t.Helper()
		final, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
		if err != nil || final.State != "COMPLETE" || final.Attempt != attempt {
			t.Fatalf("attempt %d: %v %+v", attempt, err, final)
		}
		raw, _ := cl.Results(ctx, j.ID)
		var r struct{ Stopped bool }
		json.Unmarshal(raw, &r)
		return r.Stopped
	}
	if !stopped(1) {
		t.Fatal("the first attempt was not stopped")
	}
	if _, err := cl.Requeue(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if stopped(2) {
		t.Error("the requeued attempt stopped too: the first attempt's stop request was left for it")
	}
}
