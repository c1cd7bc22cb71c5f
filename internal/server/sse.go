package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// EventStream writes server-sent events, flushing each at once. The API's
// job stream and the pages' streams share it.
type EventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// OpenEventStream sets the headers of an event stream on w.
func OpenEventStream(w http.ResponseWriter) *EventStream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	return &EventStream{w: w, rc: http.NewResponseController(w)}
}

// Send writes one event carrying v as JSON; false means the client is gone.
func (e *EventStream) Send(event string, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	if _, err := fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return false
	}
	return e.rc.Flush() == nil
}

// Comment writes a comment line (a keep-alive); false means the client is
// gone.
func (e *EventStream) Comment(text string) bool {
	if _, err := fmt.Fprintf(e.w, ": %s\n\n", text); err != nil {
		return false
	}
	return e.rc.Flush() == nil
}
