package worker_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
)

// A service that panics on a remote worker ends its job ERROR "internal
// error" after one attempt; the worker lives on and its one slot runs the
// next job.
func TestRemotePanicEndsOnlyItsJob(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.runPool(t, "node1", 1)
	ctx := context.Background()
	for _, in := range []string{"run", "helper", "none"} {
		j, err := b.user.Submit(ctx, client.Submission{Service: "panic", Spec: json.RawMessage(`{"in":"` + in + `"}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		end, err := b.user.Watch(ctx, j.ID, func(*client.Job) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		want, reason := job.Error, "internal error"
		if in == "none" {
			want, reason = job.Complete, ""
		}
		if end.State != want || end.Reason != reason || end.Attempt != 1 || end.Worker != "node1" {
			t.Errorf("panic in %s: ended %s %q after attempt %d on %q, want %s %q after 1 on node1", in, end.State, end.Reason, end.Attempt, end.Worker, want, reason)
		}
	}
}
