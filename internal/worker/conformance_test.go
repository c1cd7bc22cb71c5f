package worker_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/queue/leasetest"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
	"github.com/bumpserve/bumpserve/internal/worker"
)

// The HTTP worker's source passes the lease protocol's conformance suite
// against a real controller (HTTP API, SQLite store, job directories).
func TestRemoteSourceConformance(t *testing.T) {
	t.Parallel()
	leasetest.Exercise(t, func(t *testing.T, clock *leasetest.Clock) *leasetest.Harness {
		env := testenv.Start(t, controller.Config{Workers: 0, Now: clock.Now})
		src := &worker.RemoteSource{Client: env.Client(env.User("node", store.RoleWorker)), Name: "node1", Slots: 4,
			WorkDir: t.TempDir(), MaxInput: 1 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		return &leasetest.Harness{Source: src, Queue: env.C.Queue, Root: env.C.Root, Owner: "alice"}
	})
}
