package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestPostgresRestart restarts PostgreSQL under two controllers while
// jobs flow: requests during the outage answer 503 saying the database
// is unreachable, each controller says once that it lost PostgreSQL and
// once that it is back, and every job accepted before, during and after
// ends COMPLETE.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewCluster(t)
	data := t.TempDir()
	var logA, logB testenv.Log
	a := testenv.Start(t, controller.Config{Store: pg.URL, Data: data, Workers: 1, Name: "a", Lease: 5 * time.Second, Logger: logA.Logger()})
	b := testenv.Start(t, controller.Config{Store: pg.URL, Data: data, Workers: 1, Name: "b", Lease: 5 * time.Second, Logger: logB.Logger()})
	cls := []*client.Client{a.Client(a.AdminToken), b.Client(a.AdminToken)}
	ctx := context.Background()

	var mu sync.Mutex
	var accepted []int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			j, err := cls[i%2].Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0.01}`)}, nil)
			if err == nil {
				mu.Lock()
				accepted = append(accepted, j.ID)
				mu.Unlock()
			}
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	testenv.Eventually(t, time.Minute, "jobs flowing before the restart", func() bool { return count() >= 50 })

	pg.Stop()
	for i, cl := range cls {
		for range 3 {
			_, err := cl.List(ctx, client.ListOptions{})
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || !strings.Contains(ce.Message, "postgresql unreachable") {
				t.Fatalf("controller %d during the outage: %v; want 503 naming PostgreSQL", i, err)
			}
		}
	}
	before := count()
	pg.Start()
	testenv.Eventually(t, time.Minute, "jobs flowing after the restart", func() bool { return count() >= before+50 })
	close(stop)
	<-done

	mu.Lock()
	ids := accepted
	mu.Unlock()
	testenv.Eventually(t, 2*time.Minute, "every accepted job ends", func() bool {
		for _, id := range ids {
			j, err := a.C.Store.GetJob(ctx, id)
			if err != nil || !j.State.Terminal() {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		if j, _ := a.C.Store.GetJob(ctx, id); j.State != job.Complete {
			t.Errorf("job %d ended %s (%s)", id, j.State, j.Reason)
		}
	}
	for name, l := range map[string]*testenv.Log{"a": &logA, "b": &logB} {
		for _, line := range []string{"postgresql unreachable; requests answer 503", "postgresql reachable again", "change feed reconnected"} {
			if l.Lines(line) == 0 {
				t.Errorf("controller %s never logged %q:\n%s", name, line, l.String())
			}
		}
	}
}
