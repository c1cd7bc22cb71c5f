package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The operators' routes, for admin tokens only (403 for others). Each
// change goes through the queue, which publishes it and logs who made it.
//
//	POST /api/v1/workers/{name}/drain    finish held jobs, take no new ones
//	POST /api/v1/workers/{name}/resume   take jobs again
//	POST /api/v1/jobs/{id}/requeue       a fresh run for a job not PENDING
//	POST /api/v1/jobs/{id}/priority      {"priority": N}, for a live job
//	POST /api/v1/users/{name}/cancel     cancel every live job of one user
func (s *Server) adminRoutes() {
	m := s.mux
	admin := func(h handlerFunc) http.Handler { return s.authenticate(h, store.RoleAdmin) }
	m.Handle("POST /api/v1/workers/{name}/drain", admin(s.drainWorker))
	m.Handle("POST /api/v1/workers/{name}/resume", admin(s.resumeWorker))
	m.Handle("POST /api/v1/jobs/{id}/requeue", admin(s.requeueJob))
	m.Handle("POST /api/v1/jobs/{id}/priority", admin(s.setPriority))
	m.Handle("POST /api/v1/users/{name}/cancel", admin(s.cancelUserJobs))
}

// withDrains marks the drained workers in list, and adds those drained
// but not heard from since this process started, so they can be resumed.
func (s *Server) withDrains(ctx context.Context, list []WorkerInfo) ([]WorkerInfo, error) {
	drained, err := s.cfg.Queue.Drained(ctx)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if since, ok := drained[list[i].Name]; ok {
			list[i].Drained, list[i].DrainedSince = true, &since
			delete(drained, list[i].Name)
		}
	}
	for name, since := range drained {
		list = append(list, WorkerInfo{Name: name, Drained: true, DrainedSince: &since})
	}
	return list, nil
}

// worker finds one worker by name, or answers 404 naming the known ones.
func (s *Server) worker(w http.ResponseWriter, r *http.Request) *WorkerInfo {
	name := r.PathValue("name")
	list, err := s.Workers(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return nil
	}
	var names []string
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
		names = append(names, list[i].Name)
	}
	writeError(w, http.StatusNotFound, "no worker %q (known: %s)", name, strings.Join(names, ", "))
	return nil
}

func (s *Server) drainWorker(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.setDrained(w, r, u, true)
}

func (s *Server) resumeWorker(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.setDrained(w, r, u, false)
}

// setDrained drains or resumes a known worker and answers with it as
// it is now.
func (s *Server) setDrained(w http.ResponseWriter, r *http.Request, u *store.User, drain bool) {
	wk := s.worker(w, r)
	if wk == nil {
		return
	}
	var err error
	if drain {
		err = s.cfg.Queue.Drain(r.Context(), wk.Name, u.Name)
	} else {
		err = s.cfg.Queue.ResumeWorker(r.Context(), wk.Name, u.Name)
	}
	if err != nil {
		storageError(w, err)
		return
	}
	if wk = s.worker(w, r); wk != nil {
		writeJSON(w, http.StatusOK, wk)
	}
}

func (s *Server) requeueJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	j, err := s.RequeueJob(r.Context(), j.ID, u.Name)
	s.answerJob(w, r, j, err)
}

// RequeueJob runs job id again as a new attempt, at the request of the
// admin named by. A stop asked of an earlier attempt is forgotten first: it
// stays in the job's directory so that an attempt after a lost one stops
// too, but a run an admin asks for is a run of full length.
func (s *Server) RequeueJob(ctx context.Context, id int64, by string) (*job.Job, error) {
	if err := jobfs.RemoveAll(string(s.cfg.Root.Job(id)), service.StopFile); err != nil {
		return nil, fmt.Errorf("forget the earlier stop request: %w", err)
	}
	return s.cfg.Queue.Requeue(ctx, id, by)
}

func (s *Server) setPriority(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	var req api.PriorityChange
	if err := decodeBody(r, &req, 4<<10); err != nil {
		s.replyError(w, err)
		return
	}
	switch {
	case req.Priority == nil:
		writeError(w, http.StatusBadRequest, "priority: missing (a whole number from -100 to 100)")
		return
	case *req.Priority < -100 || *req.Priority > 100:
		writeError(w, http.StatusBadRequest, "priority: %d is not between -100 and 100", *req.Priority)
		return
	}
	j, err := s.cfg.Queue.SetPriority(r.Context(), j.ID, *req.Priority, u.Name)
	s.answerJob(w, r, j, err)
}

// answerJob answers an admin change to one job.
func (s *Server) answerJob(w http.ResponseWriter, r *http.Request, j *job.Job, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
	case errors.Is(err, store.ErrFinished):
		writeError(w, http.StatusConflict, "job %s is already finished", r.PathValue("id"))
	case err != nil:
		storageError(w, err)
	default:
		writeJSON(w, http.StatusOK, j)
	}
}

func (s *Server) cancelUserJobs(w http.ResponseWriter, r *http.Request, u *store.User) {
	name := r.PathValue("name")
	out, err := s.CancelUserJobs(r.Context(), name, u.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no user %q", name)
	case err != nil:
		storageError(w, err)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// CancelUserJobs cancels every live job of the user (a person, not a
// worker) called name, for the admin by; ErrNotFound if there is none.
// The API's route and the admin page share it.
func (s *Server) CancelUserJobs(ctx context.Context, name, by string) (*api.UserCancel, error) {
	target, err := s.cfg.Store.GetUser(ctx, name)
	if err == nil && !IsPerson(target) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	js, err := s.cfg.Queue.CancelOwner(ctx, target.Name, by)
	if err != nil {
		return nil, err
	}
	out := &api.UserCancel{User: target.Name, Cancelled: []int64{}, Stopping: []int64{}}
	for _, j := range js {
		if j.State == job.Cancel {
			out.Cancelled = append(out.Cancelled, j.ID)
		} else {
			out.Stopping = append(out.Stopping, j.ID)
		}
	}
	slices.Sort(out.Cancelled)
	slices.Sort(out.Stopping)
	return out, nil
}
