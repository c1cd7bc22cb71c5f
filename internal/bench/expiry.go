package bench

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
)

// LeaseExpiry measures how late the controller notices expired leases: n
// jobs are claimed by an executor that never renews them, and each job's
// return to PENDING is timed against its lease's end. It returns p50 and
// max of that delay.
func LeaseExpiry(ctx context.Context, n int, lease time.Duration) (p50, worst time.Duration, err error) {
	dir, err := os.MkdirTemp("", "bumpserve-bench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	c, err := controller.Open(ctx, controller.Config{Data: filepath.Join(dir, "data"), Workers: 0, Lease: lease,
		Logger: quiet})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go c.Queue.RunReaper(rctx)
	sub := c.Queue.Events.Subscribe(0, "")
	defer sub.Close()
	var lats []time.Duration
	for range n {
		if _, err := c.Queue.Submit(ctx, queue.Submission{Owner: "b", Service: "sleep"}, nil); err != nil {
			return 0, 0, err
		}
		js, err := c.Queue.Claim(ctx, queue.ClaimRequest{Worker: "ghost", FreeCPUs: 1, Max: 1})
		if err != nil || len(js) != 1 {
			return 0, 0, err
		}
		end := js[0].Lease.Expires
		for requeued := false; !requeued; {
			select {
			case <-sub.Ready():
				for _, j := range sub.Take() {
					if j.ID == js[0].ID && j.State == job.Pending && j.Attempt == 2 {
						lats = append(lats, time.Since(end))
						requeued = true
					}
				}
			case <-time.After(lease + 10*time.Second):
				return 0, 0, context.DeadlineExceeded
			}
		}
		// Out of the way of the next claim.
		if _, err := c.Queue.Cancel(ctx, js[0].ID); err != nil {
			return 0, 0, err
		}
	}
	return quantile(lats, 0.5), quantile(lats, 1), nil
}
