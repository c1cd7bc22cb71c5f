package web

import (
	"net/http"
	"time"

	"github.com/bumpserve/bumpserve/internal/server"
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
	h.cfg.API.StreamJob(w, r, j.ID)
}

// listEvents is the job list's live feed: an event "job" for every change
// to a job the user may see (an admin: every job), without its spec.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, s *session) {
	owner := s.User.Name
	if server.IsAdmin(s.User) {
		owner = ""
	}
	sub := h.cfg.Queue.Events.Subscribe(0, owner)
	defer sub.Close()
	es := server.OpenEventStream(w)
	// A comment first, so the browser knows the stream is open.
	if !es.Comment("watching") {
		return
	}
	tick := time.NewTicker(listKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !es.Comment("keep-alive") {
				return
			}
		case <-sub.Ready():
			for _, j := range sub.Take() {
				c := *j
				c.Spec = nil // listings stay small
				if !es.Send("job", &c) {
					return
				}
			}
		}
	}
}
