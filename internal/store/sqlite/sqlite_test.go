package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"

	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
	"github.com/bumpserve/bumpserve/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// Reopening applies no migration twice and keeps the data.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.CreateJob(ctx, &store.CreateJobParams{Owner: "a", Service: "sleep"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{FullSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetJob(ctx, j.ID); err != nil {
		t.Fatalf("job lost across reopen: %v", err)
	}
}

// Concurrent writes share commits; one failing write rolls back alone.
func TestGroupCommitIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	taken, err := s.CreateJob(ctx, &store.CreateJobParams{Owner: "a", Service: "sleep"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &store.CreateJobParams{Owner: "a", Service: "sleep"}
			if i%3 == 0 {
				p.ID = taken.ID // refused: the id is in use
			}
			_, err := s.CreateJob(ctx, p)
			if err == nil {
				ok.Add(1)
			} else if i%3 != 0 {
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	counts, err := s.CountJobs(ctx, "")
	if err != nil || int64(counts[job.Pending]) != ok.Load()+1 || ok.Load() != n-n/3 {
		t.Fatalf("stored %v, succeeded %d", counts, ok.Load())
	}
}
