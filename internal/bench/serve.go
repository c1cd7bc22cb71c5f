package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/controller"
)

// quiet discards the logs of what a measurement runs.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// served is a controller serving HTTP on loopback for a measurement.
type served struct {
	c     *controller.Controller
	base  string          // http://127.0.0.1:PORT
	token string          // the first admin's
	owner string          // the first admin's name
	ctx   context.Context // ends when stop is called
	stop  func()          // stops serving, then closes the controller
}

// serve opens a controller with cfg and serves it on a free port.
func serve(ctx context.Context, cfg controller.Config) (*served, error) {
	c, err := controller.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tokenPath, err := c.Bootstrap(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	tok, err := os.ReadFile(tokenPath)
	if err != nil {
		c.Close()
		return nil, err
	}
	token := strings.TrimSpace(string(tok))
	u, _, err := c.Store.LookupToken(ctx, auth.Hash(token))
	if err != nil {
		c.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.Close()
		return nil, err
	}
	srvCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.Serve(srvCtx, ln, "", "") }()
	return &served{c: c, base: "http://" + ln.Addr().String(), token: token, owner: u.Name, ctx: srvCtx,
		stop: func() { cancel(); <-done; c.Close() }}, nil
}
