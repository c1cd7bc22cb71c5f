package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// BenchmarkJobLifecycle is the writer's share of a zero-second job: its
// insert, claim and finish, n jobs to a call (n = 1: three commits a job;
// larger n shows the statements' own cost with commits shared).
func BenchmarkJobLifecycle(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			b.ResetTimer()
			for done := 0; done < b.N; done += n {
				ps := make([]*store.CreateJobParams, n)
				for i := range ps {
					ps[i] = &store.CreateJobParams{Owner: "alice", Service: "sleep", Spec: []byte(`{"seconds":0}`), CPUs: 1, Now: now}
				}
				if _, err := s.CreateJobs(ctx, ps); err != nil {
					b.Fatal(err)
				}
				js, err := s.ClaimJobs(ctx, &store.ClaimParams{Worker: "w", FreeCPUs: n, Max: n, Lease: time.Minute, Now: now})
				if err != nil || len(js) != n {
					b.Fatalf("claimed %d of %d: %v", len(js), n, err)
				}
				fs := make([]*store.FinishParams, n)
				for i, j := range js {
					fs[i] = &store.FinishParams{ID: j.ID, Token: j.Lease.Token, State: job.Complete, Result: []byte(`{"slept":0}`), Now: now}
				}
				if _, err := s.FinishJobs(ctx, fs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
