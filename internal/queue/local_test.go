package queue_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/queue/leasetest"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// The local slots' source passes the lease protocol's conformance suite.
func TestLocalSourceConformance(t *testing.T) {
	t.Parallel()
	leasetest.Exercise(t, func(t *testing.T, clock *leasetest.Clock) *leasetest.Harness {
		dir := t.TempDir()
		st, err := sqlite.Open(context.Background(), filepath.Join(dir, "bumpserve.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		root, err := jobdir.Open(dir, quiet)
		if err != nil {
			t.Fatal(err)
		}
		q := queue.New(queue.Config{Store: st, Now: clock.Now, Logger: quiet})
		src := &queue.LocalSource{Queue: q, Root: root, Name: "local@test"}
		return &leasetest.Harness{Source: src, Queue: q, Root: root, Owner: "alice"}
	})
}
