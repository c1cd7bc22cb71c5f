package testenv

import (
	"context"
	"testing"
)

// Background runs run (a worker pool's Run, say) until the test ends,
// then cancels its context and waits for it to return, so nothing of it
// outlives the test. What it returns once cancelled is of no interest.
func Background(t testing.TB, run func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
