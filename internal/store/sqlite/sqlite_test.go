package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
	j, err := s.CreateJob(ctx, &store.CreateJobParams{Owner: "a", Service: "sleep"}, nil)
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
