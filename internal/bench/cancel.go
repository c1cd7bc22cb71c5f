package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
)

// CancelLatency measures, for n running sleep jobs (half of them in a
// child process), the time from the cancel request's answer to the job's
// CANCEL state, as p50 and max.
func CancelLatency(ctx context.Context, n int) (p50, worst time.Duration, err error) {
	dir, err := os.MkdirTemp("", "bumpserve-bench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	srv, err := serve(ctx, controller.Config{Data: filepath.Join(dir, "data"), Workers: n, Logger: quiet})
	if err != nil {
		return 0, 0, err
	}
	defer srv.stop()
	cl, err := client.New(srv.base, srv.token, client.Options{})
	if err != nil {
		return 0, 0, err
	}

	var lats []time.Duration
	for i := range n {
		spec := fmt.Sprintf(`{"seconds":600,"exec":%v}`, i%2 == 1)
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(spec)}, nil)
		if err != nil {
			return 0, 0, err
		}
		// Cancel once it runs; time until its CANCEL arrives on the stream.
		var asked time.Time
		_, err = cl.Watch(ctx, j.ID, func(s *client.Job) error {
			if s.State == "ACTIVE" && asked.IsZero() {
				if _, err := cl.Cancel(ctx, j.ID); err != nil {
					return err
				}
				asked = time.Now()
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		lats = append(lats, time.Since(asked))
	}
	return quantile(lats, 0.5), quantile(lats, 1), nil
}
