package queue_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// A drained executor's claims get nothing, even with work waiting, and
// others' claims are unaffected; once resumed, its long-poll claim (sent
// before or after the resume: the test cannot tell which) gets the job.
func TestDrainAndResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "q.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := queue.New(queue.Config{Store: st})
	submit := func() {
		t.Helper()
		if _, err := q.Submit(ctx, queue.Submission{Owner: "a", Service: "sleep", Spec: json.RawMessage(`{}`), CPUs: 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	submit()
	submit()
	if err := q.Drain(ctx, "w1", "admin"); err != nil {
		t.Fatal(err)
	}
	if js, err := q.Claim(ctx, queue.ClaimRequest{Worker: "w1", FreeCPUs: 4, Max: 4}); err != nil || len(js) != 0 {
		t.Fatalf("a drained worker claimed %d jobs (%v)", len(js), err)
	}
	if js, err := q.Claim(ctx, queue.ClaimRequest{Worker: "w2", FreeCPUs: 1, Max: 1}); err != nil || len(js) != 1 {
		t.Fatalf("another worker claimed %d jobs (%v), want 1", len(js), err)
	}
	if d, err := q.Drained(ctx); err != nil || len(d) != 1 || d["w1"].IsZero() || !q.IsDrained(ctx, "w1") || q.IsDrained(ctx, "w2") {
		t.Fatalf("drained = %v, %v", d, err)
	}

	got := make(chan int, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		js, _ := q.ClaimWait(wctx, queue.ClaimRequest{Worker: "w1", FreeCPUs: 4, Max: 4})
		got <- len(js)
	}()
	if err := q.ResumeWorker(ctx, "w1", "admin"); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 1 {
		t.Fatalf("the resumed worker's waiting claim got %d jobs, want the one left", n)
	}
	if q.IsDrained(ctx, "w1") {
		t.Error("w1 is still drained after resume")
	}
}
