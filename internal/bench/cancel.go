package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	c, err := controller.Open(ctx, controller.Config{Data: filepath.Join(dir, "data"), Workers: n,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	tokenPath, _ := c.Bootstrap(ctx)
	tok, _ := os.ReadFile(tokenPath)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	srvCtx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { defer close(served); c.Serve(srvCtx, ln, "", "") }()
	defer func() { stop(); <-served }()
	cl, _ := client.New("http://"+ln.Addr().String(), string(tok[:len(tok)-1]), client.Options{})

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
