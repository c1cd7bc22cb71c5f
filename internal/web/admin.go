package web

import (
	"net/http"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
)

type adminData struct {
	Workers []server.WorkerInfo // sorted by name
	// Local are the server's own slots, Remote the workers that call in,
	// each with the protections its latest job ran under.
	Local, Remote []workerRow
	WorkerError   string
	LocalName     string
	LocalSlots    int
	States        []job.State
	Total         map[job.State]int
	Users         []server.UserJobs // users with jobs
}

// adminPage shows the executors and the queue's depth, per state and per
// user. Only admins see it; anyone else is told so (the page's existence
// is no secret, unlike another user's job).
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !server.IsAdmin(s.User) {
		h.errorPage(w, r, s, http.StatusForbidden, "The administration page is only for administrators; "+
			"you are signed in as "+s.User.Name+". Ask an administrator if you need to see the workers or the queue.")
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
	recent, err := h.cfg.API.ListJobs(ctx, s.User, server.ListOptions{Limit: protectionScan})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.Local, d.Remote = splitWorkers(d.Workers, recent)
	if d.Total, d.Users, err = h.cfg.API.QueueDepth(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "admin", &view{Title: "Administration", S: s, Nav: "admin", Refresh: 10, Data: d})
}
