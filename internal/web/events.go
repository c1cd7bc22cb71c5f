package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
)

// listKeepAlive is how often an idle list stream sends a comment, so a
// dead connection is noticed and the browser's EventSource reconnects.
const listKeepAlive = 15 * time.Second

// jobEvents is a job page's live feed: the API's event stream for the
// job, behind the session cookie.
func (h *Handler) jobEvents(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	server.StreamJob(w, r, h.cfg.Store, h.cfg.Queue.Events, j.ID)
}

// listEvents is the job list's live feed: an event "job" for every change
// to a job the user may see (an admin: every job), without its spec.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, s *session) {
	owner := s.User.Name
	if s.User.Role == store.RoleAdmin {
		owner = ""
	}
	sub := h.cfg.Queue.Events.Subscribe(0, owner)
	defer sub.Close()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	send := func(j *job.Job) bool {
		c := *j
		c.Spec = nil
		b, _ := json.Marshal(&c)
		if _, err := fmt.Fprintf(w, "event: job\ndata: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A comment first, so the browser knows the stream is open.
	if _, err := fmt.Fprint(w, ": watching\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(listKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-sub.Ready():
			for _, j := range sub.Take() {
				if !send(j) {
					return
				}
			}
		}
	}
}
