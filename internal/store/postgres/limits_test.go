package postgres_test

import (
	"context"
	"testing"

	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
)

// Two pools (two controllers) draw on one bucket per key: a burst of 3
// is 3 submissions in all, wherever they arrive; another key has its own.
func TestSubmitBucketIsShared(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	const rate, burst = 0.001, 3 // a token every 1000 s: none comes back during the test
	for i, want := range []bool{true, true, true, false, false} {
		s := [...]*postgres.Store{a, b}[i%2]
		got, err := s.AllowSubmit(ctx, "user:ann", rate, burst)
		if err != nil || got != want {
			t.Fatalf("submission %d: allowed = %v, %v; want %v", i+1, got, err, want)
		}
	}
	if ok, err := b.AllowSubmit(ctx, "user:bob", rate, burst); !ok || err != nil {
		t.Fatalf("another user refused: %v, %v", ok, err)
	}
}
