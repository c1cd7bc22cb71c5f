package sqlite

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Finishing a job decays the owner's recorded usage to now and adds the
// run's CPU-seconds, in SQL, as decay computes it.
func TestFinishChargesDecayedUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "u.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Unix(1e9, 0)
	const halfLife = 2 * time.Hour
	run := func(start, end time.Time, cpus int) {
		t.Helper()
		if _, err := s.CreateJob(ctx, &store.CreateJobParams{Owner: "a", Service: "sleep", CPUs: cpus, Now: start}); err != nil {
			t.Fatal(err)
		}
		js, err := s.ClaimJobs(ctx, &store.ClaimParams{Worker: "w", FreeCPUs: 8, Max: 1, Lease: time.Hour, Now: start})
		if err != nil || len(js) != 1 {
			t.Fatalf("claim = %v, %v", js, err)
		}
		if _, err := s.FinishJob(ctx, &store.FinishParams{ID: js[0].ID, Token: js[0].Lease.Token, State: job.Complete,
			Now: end, HalfLife: halfLife}); err != nil {
			t.Fatal(err)
		}
	}
	run(t0, t0.Add(100*time.Second), 2)                            // 200 CPU-seconds
	run(t0.Add(time.Hour), t0.Add(2*time.Hour+100*time.Second), 1) // 3700 more, 2 h later
	var value float64
	var updated int64
	if err := s.readRow(ctx, `SELECT value, updated FROM usage WHERE owner = 'a'`).Scan(&value, &updated); err != nil {
		t.Fatal(err)
	}
	want := decay(200, t0.Add(100*time.Second), t0.Add(2*time.Hour+100*time.Second), halfLife) + 3700
	if math.Abs(value-want) > 1e-9*want || updated != nanos(t0.Add(2*time.Hour+100*time.Second)) {
		t.Fatalf("usage = %g at %d, want %g (200 halved, plus 3700)", value, updated, want)
	}
}
