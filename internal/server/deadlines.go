package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Timeouts bound how long a client may hold a connection without making
// progress, so that slow or idle clients cannot pile up. They are limits
// on progress, not on a request's length: an upload or download of any
// size, a worker's long-poll claim and an event stream that runs for hours
// are all fine while data moves.
type Timeouts struct {
	// Header: the request line and headers must arrive within it.
	Header time.Duration
	// Body: a request body gets this long, and after that must have kept
	// up BodyMinRate on average since the request began.
	Body time.Duration
	// Write: each write of a response must go through within it (a
	// client that stops reading is dropped).
	Write time.Duration
	// Idle: how long a kept-alive connection may wait for its next request.
	Idle time.Duration
}

// Defaults for Timeouts.
var TimeoutsDefault = Timeouts{Header: 10 * time.Second, Body: 30 * time.Second, Write: time.Minute, Idle: 2 * time.Minute}

// BodyMinRate is the average rate, in bytes per second, that a request
// body must keep up once its Timeouts.Body grace has passed (128 kbit/s).
const BodyMinRate = 16 << 10

// WithDefaults fills the zero fields of t from TimeoutsDefault.
func (t Timeouts) WithDefaults() Timeouts {
	d := TimeoutsDefault
	return Timeouts{Header: cmp.Or(t.Header, d.Header), Body: cmp.Or(t.Body, d.Body), Write: cmp.Or(t.Write, d.Write), Idle: cmp.Or(t.Idle, d.Idle)}
}

// ErrSlowBody is what reading a request body returns once it falls behind
// BodyMinRate; the request then answers 408.
var ErrSlowBody = fmt.Errorf("request body too slow: it must arrive at %d KiB/s or more", BodyMinRate>>10)

// WithDeadlines applies t's body and write limits to every request of h
// (http.Server applies the header and idle ones). Deadlines are set per
// request through http.ResponseController.
func WithDeadlines(h http.Handler, t Timeouts) http.Handler {
	t = t.WithDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		var body *deadlineBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &deadlineBody{ReadCloser: r.Body, rc: rc, start: time.Now(), grace: t.Body}
			r.Body = body
		}
		dw := &deadlineWriter{ResponseWriter: w, rc: rc, limit: t.Write}
		h.ServeHTTP(dw, r)
		dw.extend() // for the final flush
		if body != nil && !body.done {
			// net/http reads what the handler left of the body: one
			// more grace for it, not an open-ended wait.
			rc.SetReadDeadline(time.Now().Add(t.Body))
		}
	})
}

// deadlineBody moves the connection's read deadline as a body arrives:
// start + grace + (bytes read)/BodyMinRate.
type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	read  int64
	done  bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	earned := time.Duration(float64(b.read) / BodyMinRate * float64(time.Second))
	b.rc.SetReadDeadline(b.start.Add(b.grace + earned))
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		// net/http now watches the connection for a hang-up (which
		// cancels the request's context); that watch must not time out
		// while a long poll or an event stream goes on.
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = ErrSlowBody
	}
	return n, err
}

// deadlineWriter gives each write of a response Timeouts.Write to go
// through.
type deadlineWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	limit time.Duration
}

func (w *deadlineWriter) extend() { w.rc.SetWriteDeadline(time.Now().Add(w.limit)) }

func (w *deadlineWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Flush() {
	w.extend()
	w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
