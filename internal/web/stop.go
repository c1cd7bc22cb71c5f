package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/bumpserve/bumpserve/internal/server"
)

// stop asks a running fit to end early with what it has found and goes
// back to its page, which follows it to COMPLETE.
func (h *Handler) stop(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobToChange(w, r, s)
	if j == nil {
		return
	}
	if _, err := h.cfg.API.StopJob(r, j); err != nil {
		h.refused(w, r, s, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/jobs/%d", j.ID), http.StatusSeeOther)
}

// continueFit submits a new job continuing an ended DREAM fit for the
// form's samples and shows the new job.
func (h *Handler) continueFit(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobToChange(w, r, s)
	if j == nil {
		return
	}
	n, err := strconv.Atoi(r.PostFormValue("samples"))
	if err != nil {
		h.errorPage(w, r, s, http.StatusBadRequest, fmt.Sprintf("samples: %q is not a whole number of further draws", r.PostFormValue("samples")))
		return
	}
	next, err := h.cfg.API.ResumeJob(r, s.User, j, server.ResumeRequest{Samples: n})
	if err != nil {
		h.refused(w, r, s, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/jobs/%d?submitted=1", next.ID), http.StatusSeeOther)
}

// refused shows why the server refused a request, with its status.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var se *server.SubmitError
	if !errors.As(err, &se) {
		h.serverError(w, r, err)
		return
	}
	h.errorPage(w, r, s, se.Code(), se.Error())
}

// copyJob submits, as the user's own, a copy of a job they may see (one
// shared with a group of theirs, typically) and shows the new job.
func (h *Handler) copyJob(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	next, err := h.cfg.API.CopyJob(r, s.User, j, server.CopyRequest{})
	if err != nil {
		h.refused(w, r, s, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/jobs/%d?submitted=1", next.ID), http.StatusSeeOther)
}
