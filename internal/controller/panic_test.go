package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A panic in a service's Run (on its own goroutine or on a helper of the
// fit engine's mapper pool) or in a request handler ends only that job or
// request: the job ends ERROR "internal error" after one attempt, the
// request gets 500 {"error":"internal error"}, the stack goes to the
// server log, and the server and its slot go on.
func TestPanicEndsOnlyItsJob(t *testing.T) {
	t.Parallel()
	var log testenv.Log
	env := testenv.Start(t, controller.Config{Workers: 1, Logger: log.Logger(),
		ExtraServices: []service.Service{testenv.PanicService{}}})
	cl := env.Client(env.AdminToken)
	ctx := context.Background()
	for _, in := range []string{"run", "helper"} {
		j, err := cl.Submit(ctx, client.Submission{Service: "panic", Spec: json.RawMessage(`{"in":"` + in + `"}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		end := waitFor(t, cl, j.ID, "ends after panic in "+in, func(j *client.Job) bool { return j.State.Terminal() })
		if end.State != job.Error || end.Reason != "internal error" || end.Attempt != 1 {
			t.Errorf("panic in %s: job ended %s %q after attempt %d, want ERROR \"internal error\" after 1", in, end.State, end.Reason, end.Attempt)
		}
	}
	for _, want := range []string{"test panic in Run", "test panic on a mapper helper", "goroutine "} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("server log lacks %q", want)
		}
	}

	_, err := cl.Submit(ctx, client.Submission{Service: "panic", Spec: json.RawMessage(`{"in":"check"}`)}, nil)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusInternalServerError || ce.Message != "internal error" {
		t.Errorf("submission whose check panics: %v, want 500 \"internal error\"", err)
	}

	// Still serving, and the one slot is free for the next job.
	j, err := cl.Submit(ctx, client.Submission{Service: "panic", Spec: json.RawMessage(`{"in":"none"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, cl, j.ID, "the next job completes", inState(job.Complete))
}
