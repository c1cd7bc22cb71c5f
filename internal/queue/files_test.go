package queue_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

func newQueue(t *testing.T) (*queue.Queue, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return queue.New(queue.Config{Store: st}), st
}

var sleeper = queue.Submission{Owner: "a", Service: "sleep", CPUs: 1}

// otherWriteCompletes is called from inside a file-system hook: another
// write must complete while the hook has not returned.
func otherWriteCompletes(t *testing.T, q *queue.Queue) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := q.Submit(context.Background(), sleeper, nil); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a submission waited for another's file-system work: it runs inside the store's writer")
	}
}

// Moving uploads into place happens before the job's transaction, under
// its reserved id, and holds up no other write.
func TestSubmitPlacesFilesOutsideTheWriter(t *testing.T) {
	t.Parallel()
	q, st := newQueue(t)
	ctx := context.Background()
	var placedID int64
	j, err := q.Submit(ctx, sleeper, func(id int64) error {
		placedID = id
		if _, err := st.GetJob(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("job %d exists before its files are in place: %v", id, err)
		}
		otherWriteCompletes(t, q)
		return nil
	})
	if err != nil || j.ID != placedID {
		t.Fatalf("submit = %v, %v; files placed under id %d", j, err, placedID)
	}
	// A failed placement stores nothing, and its id is never given out.
	boom := errors.New("boom")
	if _, err := q.Submit(ctx, sleeper, func(id int64) error { placedID = id; return boom }); !errors.Is(err, boom) {
		t.Fatalf("submit with failing placement: %v", err)
	}
	if missing, err := st.MissingJobs(ctx, []int64{placedID}); err != nil || len(missing) != 1 {
		t.Fatalf("job of a failed placement: missing = %v, %v", missing, err)
	}
	next, err := q.Submit(ctx, sleeper, nil)
	if err != nil || next.ID <= placedID {
		t.Fatalf("next job = %v, %v; id %d was reserved", next, err, placedID)
	}
}

// A remote worker's output is moved into place after the lease check and
// before the state change, outside the store's writer.
func TestFinishWithMovesOutputOutsideTheWriter(t *testing.T) {
	t.Parallel()
	q, st := newQueue(t)
	ctx := context.Background()
	if _, err := q.Submit(ctx, sleeper, nil); err != nil {
		t.Fatal(err)
	}
	js, err := q.Claim(ctx, queue.ClaimRequest{Worker: "w", FreeCPUs: 1, Max: 1})
	if err != nil || len(js) != 1 {
		t.Fatalf("claim = %v, %v", js, err)
	}
	j := js[0]
	ran := false
	// A stale lease: the hook does not run.
	if _, err := q.FinishWith(ctx, j.ID, "stale", queue.Result{State: job.Complete}, func() error { ran = true; return nil }); !errors.Is(err, store.ErrLeaseLost) || ran {
		t.Fatalf("stale finish: %v, hook ran %v", err, ran)
	}
	// A failing hook leaves the job ACTIVE under its lease.
	boom := errors.New("boom")
	if _, err := q.FinishWith(ctx, j.ID, j.Lease.Token, queue.Result{State: job.Complete}, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("finish with failing hook: %v", err)
	}
	if got, _ := st.GetJob(ctx, j.ID); got.State != job.Active {
		t.Fatalf("a failed hook left the job %s", got.State)
	}
	done, err := q.FinishWith(ctx, j.ID, j.Lease.Token, queue.Result{State: job.Complete}, func() error {
		if got, _ := st.GetJob(ctx, j.ID); got.State != job.Active {
			t.Errorf("state changed before the output was in place: %s", got.State)
		}
		otherWriteCompletes(t, q)
		return nil
	})
	if err != nil || done.State != job.Complete {
		t.Fatalf("finish = %v, %v", done, err)
	}
}
