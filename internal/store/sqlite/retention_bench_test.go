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

// finishedStore is a store holding n finished jobs of 10 owners, each
// charged and measured, as a facility's history.
func finishedStore(b *testing.B, n int) store.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	t0 := time.Unix(1.7e9, 0)
	for done := 0; done < n; done += 500 {
		ps := make([]*store.CreateJobParams, 500)
		for i := range ps {
			ps[i] = &store.CreateJobParams{Owner: fmt.Sprintf("user%d", (done+i)%10), Service: "sleep", Now: t0, DiskBytes: 1000}
		}
		if _, err := s.CreateJobs(ctx, ps); err != nil {
			b.Fatal(err)
		}
		for left := 500; left > 0; {
			js, err := s.ClaimJobs(ctx, &store.ClaimParams{Worker: "w", FreeCPUs: 1 << 20, Max: left, Lease: time.Hour, Now: t0})
			if err != nil || len(js) == 0 {
				b.Fatal(err)
			}
			fs := make([]*store.FinishParams, len(js))
			sizes := make([]store.DiskSize, len(js))
			for i, j := range js {
				fs[i] = &store.FinishParams{ID: j.ID, Token: j.Lease.Token, State: job.Complete, Now: t0.Add(time.Minute)}
				sizes[i] = store.DiskSize{ID: j.ID, Bytes: 5000}
			}
			if _, err := s.FinishJobs(ctx, fs); err != nil {
				b.Fatal(err)
			}
			if err := s.RecordDisk(ctx, sizes, t0); err != nil {
				b.Fatal(err)
			}
			left -= len(js)
		}
	}
	return s
}

// BenchmarkRetentionQueries: what the quota check (one owner's disk),
// the cleaner (one batch of expired jobs) and a usage report (every
// owner) cost over a history of 50,000 finished jobs.
func BenchmarkRetentionQueries(b *testing.B) {
	s := finishedStore(b, 50_000)
	ctx := context.Background()
	later := time.Unix(1.7e9, 0).Add(time.Hour)
	b.Run("quota", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Usage(ctx, &store.UsageParams{Owner: "user3", Since: later}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("expired-batch", func(b *testing.B) {
		for b.Loop() {
			if ids, err := s.ExpiredJobs(ctx, &store.ExpiredJobsParams{State: job.Complete, Before: later, Limit: 100}); err != nil || len(ids) != 100 {
				b.Fatal(len(ids), err)
			}
		}
	})
	b.Run("usage-all", func(b *testing.B) {
		for b.Loop() {
			if u, err := s.Usage(ctx, &store.UsageParams{}); err != nil || len(u) != 10 {
				b.Fatal(len(u), err)
			}
		}
	})
}
