package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// jobFor loads the job named in the path if u may see it; otherwise it
// answers 404, the same whether the job is someone else's, deleted, never
// existed or the id is not even a number.
func (s *Server) jobFor(w http.ResponseWriter, r *http.Request, u *store.User) *job.Job {
	return s.loadJob(w, r, u, s.Job)
}

// jobToChange loads the job named in the path if u may change it, as
// jobFor does; a group member who may only read it gets 403.
func (s *Server) jobToChange(w http.ResponseWriter, r *http.Request, u *store.User) *job.Job {
	return s.loadJob(w, r, u, s.JobToChange)
}

func (s *Server) loadJob(w http.ResponseWriter, r *http.Request, u *store.User,
	load func(context.Context, *User, int64) (*job.Job, error)) *job.Job {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err == nil && id > 0 {
		j, err := load(r.Context(), u, id)
		switch {
		case err == nil:
			return j
		case errors.Is(err, ErrReadOnly):
			writeError(w, http.StatusForbidden, "%v", err)
			return nil
		case !errors.Is(err, ErrNotFound):
			writeError(w, http.StatusInternalServerError, "load job: %v", err)
			return nil
		}
	}
	writeError(w, http.StatusNotFound, "no job %q", raw)
	return nil
}

// JobList is the answer of GET /api/v1/jobs.
type JobList struct {
	Jobs []*job.Job `json:"jobs"`
	// Next is the "before" cursor of the next page; empty on the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, u *store.User) {
	q := r.URL.Query()
	o := ListOptions{Owner: q.Get("owner"), Service: q.Get("service"), Limit: 100}
	switch v := q.Get("shared"); v {
	case "", "0", "false":
	case "1", "true":
		o.Shared = true
	default:
		writeError(w, http.StatusBadRequest, "shared: %q is not accepted (1 lists the jobs shared with your groups, 0 or none your own)", v)
		return
	}
	if v := q.Get("state"); v != "" {
		st, err := job.ParseState(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "state: %v", err)
			return
		}
		o.State = st
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: %q is not a number from 1 to 1000", v)
			return
		}
		o.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "before: %q is not a job id", v)
			return
		}
		o.Before = n
	}
	if v := q.Get("service"); v != "" {
		if _, err := s.cfg.Services.Lookup(v); err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	js, err := s.ListJobs(r.Context(), u, o)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	out := JobList{Jobs: make([]*job.Job, len(js))}
	for i, j := range js {
		c := *j
		c.Spec = nil // listings stay small; GET one job for its spec
		out.Jobs[i] = &c
	}
	if len(js) == o.Limit {
		out.Next = strconv.FormatInt(js[len(js)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	if j := s.jobFor(w, r, u); j != nil {
		writeJSON(w, http.StatusOK, j)
	}
}

func (s *Server) results(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	if len(j.Result) == 0 {
		why := "results come when it completes"
		if j.State.Terminal() {
			why = "it has no results"
		}
		writeError(w, http.StatusConflict, "job %d is %s: %s", j.ID, j.State, why)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(j.Result)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	j, err := s.CancelJob(r.Context(), j)
	switch {
	case errors.Is(err, store.ErrFinished):
		writeError(w, http.StatusConflict, "job is already finished")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
	case diskspace.IsFull(err):
		writeError(w, http.StatusInsufficientStorage, "cancel: %v", diskspace.ErrFull)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "cancel: %v", err)
	case j.State == job.Cancel:
		writeJSON(w, http.StatusOK, j)
	default: // the executor stops it; the state follows
		writeJSON(w, http.StatusAccepted, j)
	}
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	if err := s.DeleteJob(r.Context(), j.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
			return
		}
		if diskspace.IsFull(err) {
			writeError(w, http.StatusInsufficientStorage, "delete: %v", diskspace.ErrFull)
			return
		}
		writeError(w, http.StatusInternalServerError, "delete: %v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DeleteJob deletes job id (cancelling its run) and then its files, which
// go to the trash and are removed in the background. store.ErrNotFound
// means someone deleted it first.
func (s *Server) DeleteJob(ctx context.Context, id int64) error {
	// A series parent takes its children with it; they go first, so
	// that a failure leaves the parent to try again with.
	if j, err := s.cfg.Store.GetJob(ctx, id); err == nil && j.Series != nil {
		kids, err := s.cfg.Queue.Children(ctx, id)
		if err != nil {
			return err
		}
		for _, c := range kids {
			if err := s.deleteOne(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return s.deleteOne(ctx, id)
}

// deleteOne deletes one job and its files.
func (s *Server) deleteOne(ctx context.Context, id int64) error {
	err := s.cfg.Queue.Delete(ctx, id)
	for try := 0; diskspace.IsFull(err) && try < 20; try++ {
		// Not even the space reserves left room to record it: the job's
		// files, going anyway, go first and free theirs.
		if try == 0 {
			s.cfg.Root.Remove(id)
		}
		time.Sleep(250 * time.Millisecond) // files are removed in the background
		err = s.cfg.Queue.Delete(ctx, id)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if rerr := s.cfg.Root.Remove(id); rerr != nil {
		s.log.Error("remove job files", "job", id, "err", rerr)
	}
	return err
}
