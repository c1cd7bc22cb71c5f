package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
)

type adminData struct {
	Error   string              // what was wrong with the last form sent
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
	Usage         *usageView        // every user's accounting
}

// adminPage shows the executors and the queue's depth, per state and per
// user. Only admins see it; anyone else is told so (the page's existence
// is no secret, unlike another user's job).
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, s *session) {
	h.renderAdmin(w, r, s, http.StatusOK, "")
}

// notAdmin answers anyone but an admin, and says whether it did.
func (h *Handler) notAdmin(w http.ResponseWriter, r *http.Request, s *session) bool {
	if server.IsAdmin(s.User) {
		return false
	}
	h.errorPage(w, r, s, http.StatusForbidden, "The administration page is only for administrators; "+
		"you are signed in as "+s.User.Name+". Ask an administrator if you need to see the workers or the queue.")
	return true
}

// renderAdmin shows the page, with an error about the form just sent if
// there was one.
func (h *Handler) renderAdmin(w http.ResponseWriter, r *http.Request, s *session, code int, formError string) {
	if h.notAdmin(w, r, s) {
		return
	}
	ctx := r.Context()
	d := adminData{Error: formError, LocalName: h.cfg.LocalName, LocalSlots: h.cfg.LocalSlots, States: job.States}
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
	d.Usage = h.usageFor(r, s, "", true)
	if d.Total, d.Users, err = h.cfg.API.QueueDepth(ctx); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, code, "admin", &view{Title: "Administration", S: s, Nav: "admin", Refresh: 10, Data: d})
}

// adminAction runs one of the admin page's forms (POST /ui/admin): field
// "action" is drain or resume (field "worker"), requeue or priority
// (fields "job" and "priority"), or cancel-user (field "user"). Each goes
// through the queue, as the API's routes do, and is logged with the
// admin's name; then the page showing the result follows.
func (h *Handler) adminAction(w http.ResponseWriter, r *http.Request, s *session) {
	if h.notAdmin(w, r, s) {
		return
	}
	ctx, q, by := r.Context(), h.cfg.Queue, s.User.Name
	field := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	var err error
	next := "/ui/admin"
	switch action := field("action"); action {
	case "drain", "resume":
		name := field("worker")
		if name == "" {
			err = badForm("worker: missing (the worker's name)")
		} else if action == "drain" {
			err = q.Drain(ctx, name, by)
		} else {
			err = q.ResumeWorker(ctx, name, by)
		}
	case "requeue", "priority":
		id, perr := strconv.ParseInt(field("job"), 10, 64)
		if perr != nil || id <= 0 {
			err = badForm(fmt.Sprintf("job: %q is not a job id", field("job")))
			break
		}
		if action == "requeue" {
			_, err = h.cfg.API.RequeueJob(ctx, id, by)
		} else {
			p, perr := strconv.Atoi(field("priority"))
			if perr != nil || p < -100 || p > 100 {
				err = badForm(fmt.Sprintf("priority: %q is not a whole number from -100 to 100", field("priority")))
				break
			}
			_, err = q.SetPriority(ctx, id, p, by)
		}
		next = fmt.Sprintf("/ui/jobs/%d", id)
	case "cancel-user":
		name := field("user")
		if _, err = h.cfg.API.CancelUserJobs(ctx, name, by); errors.Is(err, server.ErrNotFound) {
			err = badForm(fmt.Sprintf("user: no user %q", name))
		}
		next = "/ui/jobs?owner=" + url.QueryEscape(name)
	default:
		err = badForm(fmt.Sprintf("action: %q is not an action (accepted: drain, resume, requeue, priority, cancel-user)", action))
	}
	var bad formError
	switch {
	case errors.As(err, &bad):
		h.renderAdmin(w, r, s, http.StatusBadRequest, string(bad))
	case errors.Is(err, server.ErrNotFound):
		h.renderAdmin(w, r, s, http.StatusNotFound, "job: no job "+field("job"))
	case errors.Is(err, server.ErrFinished):
		h.renderAdmin(w, r, s, http.StatusConflict, "job "+field("job")+" is already finished: its priority no longer matters")
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// formError is a mistake in a form, shown on the page it came from.
type formError string

func (e formError) Error() string { return string(e) }

func badForm(msg string) error { return formError(msg) }
