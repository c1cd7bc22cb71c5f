// Package lograte keeps a failure that repeats (a retry loop against a
// full disk, an unreachable controller) from flooding the log: each kind
// of warning or error is written at most once per interval, and the next
// one written says how many were held back.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// EveryDefault is how often one kind of failure may be logged.
const EveryDefault = time.Minute

// New wraps h so that records at level Warn and above of one kind pass at
// most once per every. A kind is the message and, when the logger carries
// one, the job it is about: one job's repeated failure does not hide
// another's.
func New(h slog.Handler, every time.Duration) slog.Handler {
	return &handler{inner: h, state: &state{every: every, kinds: map[string]*kind{}}}
}

type state struct {
	every time.Duration
	mu    sync.Mutex
	kinds map[string]*kind
}

type kind struct {
	last       time.Time
	suppressed int
}

type handler struct {
	inner slog.Handler
	state *state
	job   string // the "job" attribute of the logger, if any
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	for _, a := range as {
		if a.Key == "job" {
			c.job = a.Value.String()
		}
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.inner.Handle(ctx, r)
	}
	job := h.job
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "job" {
			job = a.Value.String()
			return false
		}
		return true
	})
	n, ok := h.state.pass(job+"\x00"+r.Message, r.Time)
	if !ok {
		return nil
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n)) // repeats held back since the last one written
	}
	return h.inner.Handle(ctx, r)
}

// pass says whether a record of kind k at t is written, and how many of
// its kind were held back before it.
func (s *state) pass(k string, t time.Time) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.kinds[k]
	if e == nil {
		if len(s.kinds) >= 10000 {
			s.forget(t)
		}
		e = &kind{}
		s.kinds[k] = e
	} else if t.Sub(e.last) < s.every {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.last, e.suppressed = t, 0
	return n, true
}

// forget drops kinds not seen for an interval, bounding the map when
// failures name many different jobs.
func (s *state) forget(now time.Time) {
	for k, e := range s.kinds {
		if now.Sub(e.last) >= s.every {
			delete(s.kinds, k)
		}
	}
}
