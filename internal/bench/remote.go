package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/worker"
)

// startRemote runs a worker pool of slots against the controller over
// HTTP, as `bumpserve worker` would, and returns a function that stops it.
func startRemote(ctx context.Context, c *controller.Controller, base string, slots int, workDir string) (func(), error) {
	token, err := controller.AddUser(ctx, c.Store, "bench-worker", store.RoleWorker)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: slots * 4}}
	cl, err := client.New(base, token, client.Options{HTTP: hc})
	if err != nil {
		return nil, err
	}
	src := &worker.RemoteSource{Client: cl, Name: "bench", Slots: slots, WorkDir: workDir, MaxInput: 1 << 20, Logger: quiet}
	pool, err := worker.NewPool(worker.Config{Name: "bench", Slots: slots, Source: src, Services: service.Builtin(),
		Drain: time.Second, Logger: quiet})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	return func() { cancel(); <-done }, nil
}
