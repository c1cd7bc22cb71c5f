// Package guard keeps a panic in one job, request or background loop from
// taking the whole process down: the panic is logged with its stack and
// turned into an error ("internal error") for the one thing that failed.
// The stack stays in the log; what users see never carries it.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// ErrInternal is what a recovered panic becomes. Its text is the reason a
// job ends with and what an HTTP client is told.
var ErrInternal = errors.New("internal error")

// Call runs fn; a panic in it is logged as what panicked, with the stack,
// and returned as ErrInternal.
func Call(log *slog.Logger, what string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			logPanic(log, what, v)
			err = ErrInternal
		}
	}()
	return fn()
}

// Go runs fn in a goroutine whose panic is logged and ends only fn.
func Go(log *slog.Logger, what string, fn func()) {
	go Call(log, what, func() error { fn(); return nil })
}

// Loop runs fn until ctx ends, starting it again after a panic (after a
// pause that doubles up to a minute, so a loop that panics at once does
// not spin). fn returning by itself ends the loop.
func Loop(ctx context.Context, log *slog.Logger, what string, fn func(context.Context)) {
	pause := time.Second
	for ctx.Err() == nil {
		if Call(log, what, func() error { fn(ctx); return nil }) == nil {
			return
		}
		log.Error(what+" restarts after a panic", "in", pause)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Minute)
	}
}

// Handler answers a request whose handler panicked with 500
// {"error":"internal error"} (if nothing was sent yet) and logs the stack;
// the server goes on serving. http.ErrAbortHandler, net/http's way to cut
// a response short on purpose, passes through.
func Handler(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := &sentRecorder{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logPanic(log, "http handler "+r.Method+" "+r.URL.Path, v)
			if !sent.sent {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Del("Content-Length")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, "{\"error\": %q}\n", ErrInternal.Error())
			}
		}()
		h.ServeHTTP(sent, r)
	})
}

func logPanic(log *slog.Logger, what string, v any) {
	log.Error("panic in "+what, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// sentRecorder notes whether a response has begun.
type sentRecorder struct {
	http.ResponseWriter
	sent bool
}

func (s *sentRecorder) WriteHeader(code int) {
	s.sent = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *sentRecorder) Write(b []byte) (int, error) {
	s.sent = true
	return s.ResponseWriter.Write(b)
}

func (s *sentRecorder) Flush() {
	s.sent = true
	http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *sentRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
