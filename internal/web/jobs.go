package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
)

// pageSize is how many jobs one page of the list shows.
const pageSize = 25

type jobsData struct {
	Rows   []listRow
	Admin  bool
	Shared bool // the jobs shared with the user's groups, not their own
	// ShowOwner: the list holds others' jobs (an admin's, or shared ones).
	ShowOwner bool
	State     string
	Service   string
	Owner     string
	States    []job.State
	Services  []string
	Next      string // URL of the next (older) page; "" on the last
	Q         string // text search
	Filtered  bool
	// SearchCut: the search looked at searchScan jobs without filling
	// the page; "Older jobs" goes on looking.
	SearchCut bool
	Error     string
	Deleted   string // the id of a job just deleted, to confirm it
	// Events is the URL of the list's live feed.
	Events string
	// Usage is the signed-in user's own accounting.
	Usage *usageView
}

// jobsPage lists the user's jobs (an admin's: everyone's), newest first.
func (h *Handler) jobsPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	admin := server.IsAdmin(s.User)
	d := jobsData{Admin: admin, States: job.States, Services: h.cfg.Services,
		Service: q.Get("service"), Owner: q.Get("owner"), Shared: q.Get("shared") == "1"}
	d.ShowOwner = admin || d.Shared
	if n, err := strconv.ParseInt(q.Get("deleted"), 10, 64); err == nil {
		d.Deleted = strconv.FormatInt(n, 10)
	}
	o := server.ListOptions{Owner: d.Owner, Service: d.Service, Limit: pageSize + 1, Shared: d.Shared}
	if v := q.Get("state"); v != "" {
		st, err := job.ParseState(v)
		if err != nil {
			d.Error = "state: " + err.Error()
		}
		o.State, d.State = st, string(st)
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			d.Error = fmt.Sprintf("before: %q is not a job id", v)
		}
		o.Before = n
	}
	d.Q = strings.TrimSpace(q.Get("q"))
	// The shared list counts as filtered: the live feed adds only the
	// user's own new jobs, which it does not hold.
	d.Filtered = d.State != "" || d.Service != "" || d.Owner != "" || d.Q != "" || o.Before != 0 || d.Shared
	live := false
	if d.Error == "" {
		list := func(before int64, limit int) ([]*job.Job, error) {
			lo := o
			lo.Before, lo.Limit = before, limit
			return h.cfg.API.ListJobs(r.Context(), s.User, lo)
		}
		js, next, cut, err := searchPage(list, o.Before, d.Q)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		if next > 0 {
			nq := url.Values{}
			shared := ""
			if d.Shared {
				shared = "1"
			}
			for k, v := range map[string]string{"state": d.State, "service": d.Service, "owner": d.Owner, "q": d.Q, "shared": shared} {
				if v != "" {
					nq.Set(k, v)
				}
			}
			nq.Set("before", strconv.FormatInt(next, 10))
			d.Next = h.cfg.BasePath + "/ui/jobs?" + nq.Encode()
		}
		d.SearchCut = cut
		d.Rows = rowsOf(js, time.Now())
		d.Events = h.cfg.BasePath + "/ui/jobs/events"
		if d.Shared {
			d.Events += "?" + sharedFeedQuery(js)
		}
		for _, j := range js {
			live = live || !j.State.Terminal()
		}
	}
	d.Usage = h.usageFor(r, s, s.User.Name, false)
	v := &view{Title: "Jobs", S: s, Nav: "jobs", Data: d}
	if live {
		v.Refresh = 5
	}
	code := http.StatusOK
	if d.Error != "" {
		code = http.StatusBadRequest
	}
	h.render(w, r, code, "jobs", v)
}

// jobFor loads the job named in the path if s may see it. Every other case
// (someone else's job, deleted, never existed, not a number) is the same
// 404 page, so the pages reveal no more than the API does.
func (h *Handler) jobFor(w http.ResponseWriter, r *http.Request, s *session) *job.Job {
	j, err := h.visibleJob(r, s, r.PathValue("id"))
	switch {
	case err != nil:
		h.serverError(w, r, err)
	case j == nil:
		h.notFound(w, r, s)
	}
	return j
}

// jobToChange loads the job named in the path if s may change it (its
// owner or an admin), for the forms that do; a group member who may
// only read it is refused (403), anyone else gets the 404 page.
func (h *Handler) jobToChange(w http.ResponseWriter, r *http.Request, s *session) *job.Job {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		h.notFound(w, r, s)
		return nil
	}
	j, err := h.cfg.API.JobToChange(r.Context(), s.User, n)
	switch {
	case errors.Is(err, server.ErrNotFound):
		h.notFound(w, r, s)
	case errors.Is(err, server.ErrReadOnly):
		h.errorPage(w, r, s, http.StatusForbidden, err.Error())
	case err != nil:
		h.serverError(w, r, err)
	default:
		return j
	}
	return nil
}

// cancel asks a job to stop and goes back to its page, which shows at once
// that the cancel was received (a running job's executor stops it soon
// after; the page follows the state).
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobToChange(w, r, s)
	if j == nil {
		return
	}
	_, err := h.cfg.API.CancelJob(r.Context(), j)
	switch {
	case errors.Is(err, server.ErrFinished):
		// Finished meanwhile: its page says how it ended.
	case errors.Is(err, server.ErrNotFound):
		h.notFound(w, r, s)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/jobs/%d", j.ID), http.StatusSeeOther)
}

// deleteJob removes a job and its files, then shows the list.
func (h *Handler) deleteJob(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobToChange(w, r, s)
	if j == nil {
		return
	}
	if err := h.cfg.API.DeleteJob(r.Context(), j.ID); err != nil && !errors.Is(err, server.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/ui/jobs?deleted="+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
}
