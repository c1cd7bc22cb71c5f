package web

import (
	"net/http"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
)

type adminData struct {
	Workers     []server.WorkerInfo // sorted by name
	WorkerError string
	LocalName   string
	LocalSlots  int
	States      []job.State
	Total       map[job.State]int
	Users       []userQueue
}

// userQueue is one user's jobs per state.
type userQueue struct {
	Name   string
	Counts map[job.State]int
}

// adminPage shows the executors and the queue's depth, per state and per
// user. Only admins see it; to anyone else it does not exist.
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, s *session) {
	if s.User.Role != store.RoleAdmin {
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
	if d.Total, err = h.cfg.Store.CountJobs(ctx, ""); err != nil {
		h.serverError(w, r, err)
		return
	}
	users, err := h.cfg.Store.ListUsers(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, u := range users {
		if u.Role == store.RoleWorker {
			continue
		}
		c, err := h.cfg.Store.CountJobs(ctx, u.Name)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		if len(c) > 0 {
			d.Users = append(d.Users, userQueue{Name: u.Name, Counts: c})
		}
	}
	h.render(w, r, http.StatusOK, "admin", &view{Title: "Administration", S: s, Nav: "admin", Refresh: 10, Data: d})
}
