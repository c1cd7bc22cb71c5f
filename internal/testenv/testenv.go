// Package testenv starts real controllers for tests and holds the rules
// tests share: wait by polling with a deadline (never a fixed sleep), and
// in CI (CI=true) a missing component fails a test instead of skipping it.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Need skips the test when ok is false, except in CI, where it fails: a
// component CI should have installed is missing.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI is missing a component: %s", why)
	}
	t.Skip(why)
}

// Eventually polls cond until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Env is a running controller on a loopback port.
type Env struct {
	URL        string
	AdminToken string
	C          *controller.Controller
	Data       string
	t          testing.TB
}

// Start runs a controller with cfg (Data defaults to a temp dir) until the
// test ends.
func Start(t testing.TB, cfg controller.Config) *Env {
	t.Helper()
	if cfg.Data == "" {
		cfg.Data = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := controller.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path, err := c.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	if path != "" {
		b, _ := os.ReadFile(path)
		token = string(b[:len(b)-1])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); c.Serve(ctx, ln, "", "") }()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
	})
	return &Env{URL: "http://" + ln.Addr().String(), AdminToken: token, C: c, Data: cfg.Data, t: t}
}

// User creates a user and returns its token.
func (e *Env) User(name string, role store.Role) string {
	e.t.Helper()
	tok, err := controller.AddUser(context.Background(), e.C.Store, name, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Client returns an API client with token.
func (e *Env) Client(token string) *client.Client {
	e.t.Helper()
	c, err := client.New(e.URL, token, client.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
