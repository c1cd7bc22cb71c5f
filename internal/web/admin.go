package web

import (
	"net/http"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
)

type adminData struct {
	Workers     []server.WorkerInfo // sorted by name
	WorkerError string
	LocalName   string
	LocalSlots  int
	States      []job.State
	Total       map[job.State]int
	Users       []server.UserJobs // users with jobs
}

// adminPage shows the executors and the queue's depth, per state and per
// user. Only admins see it; to anyone else it does not exist.
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !server.IsAdmin(s.User) {
		h.notFound(w, r, s)
		return
	}
	ctx := r.Context()
	d := adminData{LocalName: h.cfg.LocalName, LocalSlots: h.cfg.LocalSlots, States: job.States}
	if h.cfg.Workers != nil {
		ws, err := h.cfg.Workers(ctx)
		if err != nil {
			d.WorkerError = err.Error()
		}
		d.Workers = ws
	}
	var err error
	if d.Total, d.Users, err = h.cfg.API.QueueDepth(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin", &view{Title: "Administration", S: s, Nav: "admin", Refresh: 10, Data: d})
}
