package queue_test

import (
	"context"
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
)

// listensLate is a change feed that heard nothing before it listened:
// it only says it now listens (resync), as PostgreSQL's does once LISTEN
// takes hold.
type listensLate struct{}

func (listensLate) FollowChanges(ctx context.Context, _ func(store.Change), resync func()) error {
	resync()
	<-ctx.Done()
	return ctx.Err()
}

// A job watched on one controller that another ran before the first one's
// change feed listened: once it listens, the watcher is told where the
// job stands (a CI run under load caught an event stream stuck at
// PENDING for a job long COMPLETE on the other controller).
func TestFollowTellsWatchersWhatWentUnheard(t *testing.T) {
	t.Parallel()
	front, st := newQueue(t)
	back := queue.New(queue.Config{Store: st}) // a second controller on the same store
	j, err := front.Submit(context.Background(), sleeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := front.Events.Subscribe(j.ID, "")
	defer sub.Close()
	if js, err := back.Claim(context.Background(), queue.ClaimRequest{Worker: "back", FreeCPUs: 1, Max: 1}); err != nil || len(js) != 1 {
		t.Fatalf("the other controller's claim = %v, %v", js, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go front.Follow(ctx, listensLate{})
	await(t, sub, j.ID, "the job ACTIVE on the other controller, told at listen", func(j *job.Job) bool {
		return j.State == job.Active && j.Worker == "back"
	})
}
