package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The old Bumps job queue's routes and JSON shapes, so an old client or
// worker still works. They take the same tokens (an old client may send
// one as the password of HTTP basic auth) and answer 200 on success, as
// the old client expects; unknown ids are 404.

func (s *Server) legacyRoutes() {
	m, user, wk := s.mux, s.forUsers, s.forWorkers
	m.Handle("GET /jobs.json", user(s.legacyList))
	m.Handle("POST /jobs.json", user(s.legacySubmit))
	m.Handle("GET /jobs/{name}", user(s.legacyShow))
	m.Handle("DELETE /jobs/{name}", user(s.legacyDelete))
	m.Handle("GET /jobs/{id}/status.json", user(s.legacyStatus))
	m.Handle("GET /jobs/{id}/results.json", user(s.legacyResults))
	m.Handle("GET /jobs/{id}/data/index.json", user(s.legacyFiles))
	m.Handle("GET /jobs/{id}/data/{file}", user(s.legacyFile))
	m.Handle("POST /jobs/nextjob.json", wk(s.legacyNextJob))
	m.Handle("POST /jobs/{id}/postjob", wk(s.legacyPostJob))
}

// legacyRequest is the old job record: the submission as sent.
func legacyRequest(j *job.Job) map[string]any {
	return map[string]any{"id": j.ID, "name": j.Name, "service": j.Service, "data": j.Spec}
}

func (s *Server) legacyIDs(w http.ResponseWriter, r *http.Request, u *store.User, state job.State) {
	p := store.ListJobsParams{State: state, Limit: 100000}
	if u.Role != store.RoleAdmin {
		p.Owner = u.Name
	}
	js, err := s.cfg.Store.ListJobs(r.Context(), &p)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	ids := make([]int64, len(js))
	for i, j := range js {
		ids[len(js)-1-i] = j.ID // oldest first, as the old server listed them
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": ids})
}

func (s *Server) legacyList(w http.ResponseWriter, r *http.Request, u *store.User) {
	s.legacyIDs(w, r, u, "")
}

func (s *Server) legacySubmit(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req struct {
		Name    string          `json:"name"`
		Service string          `json:"service"`
		Data    json.RawMessage `json:"data"`
		Spec    json.RawMessage `json:"spec"`
		Notify  string          `json:"notify"`
		Version string          `json:"version"`
	}
	if err := decodeBody(r, &req, s.cfg.MaxJSON); err != nil {
		s.replyError(w, err)
		return
	}
	spec := req.Spec
	if len(spec) == 0 {
		spec = req.Data
	}
	j, err := s.SubmitJob(r.Context(), u, &Submission{Name: req.Name, Service: req.Service, Spec: spec}, "")
	if err != nil {
		s.replyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "job": legacyRequest(j)})
}

// legacyShow answers GET /jobs/{id}.json and /jobs/{state}.json.
func (s *Server) legacyShow(w http.ResponseWriter, r *http.Request, u *store.User) {
	name, ok := strings.CutSuffix(r.PathValue("name"), ".json")
	if !ok {
		writeError(w, http.StatusNotFound, "no route %s", r.URL.Path)
		return
	}
	switch name {
	case "pending", "active", "complete", "error":
		s.legacyIDs(w, r, u, job.State(strings.ToUpper(name)))
		return
	}
	if j := s.legacyJob(w, r, u, name); j != nil {
		writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "job": legacyRequest(j)})
	}
}

// legacyJob loads a job the caller may see, or answers 404.
func (s *Server) legacyJob(w http.ResponseWriter, r *http.Request, u *store.User, raw string) *job.Job {
	r.SetPathValue("id", raw)
	return s.jobFor(w, r, u)
}

func (s *Server) legacyDelete(w http.ResponseWriter, r *http.Request, u *store.User) {
	name, _ := strings.CutSuffix(r.PathValue("name"), ".json")
	j := s.legacyJob(w, r, u, name)
	if j == nil {
		return
	}
	if err := s.DeleteJob(r.Context(), j.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusInternalServerError, "delete: %v", err)
		return
	}
	s.legacyIDs(w, r, u, "")
}

func (s *Server) legacyStatus(w http.ResponseWriter, r *http.Request, u *store.User) {
	if j := s.jobFor(w, r, u); j != nil {
		writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": j.State})
	}
}

func (s *Server) legacyResults(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	out := map[string]any{"id": j.ID, "status": j.State}
	switch j.State {
	case job.Complete:
		out["result"] = j.Result
	case job.Error, job.Cancel:
		out["trace"] = j.Reason
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) legacyFiles(w http.ResponseWriter, r *http.Request, u *store.User) {
	j, files := s.jobFiles(w, r, u)
	if j == nil {
		return
	}
	pairs := make([][2]any, 0, len(files))
	for _, f := range files {
		pairs = append(pairs, [2]any{strings.SplitN(f.Path, "/", 2)[1], f.Size})
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "files": pairs})
}

// legacyFile serves a file by its name in the old flat store: output/
// first, then input/.
func (s *Server) legacyFile(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	name := r.PathValue("file")
	for _, top := range []string{"output/", "input/"} {
		if ServeFile(w, r, s.cfg.Root.Job(j.ID), top+name) {
			return
		}
	}
	writeError(w, http.StatusNotFound, "job %d has no file %q", j.ID, name)
}

// legacyWait is how long nextjob.json holds a request when the queue is
// empty: short, since old workers do not expect a long poll, but enough
// to save most of their polling.
const legacyWait = 5 * time.Second

// legacyNextJob hands the next job to an old worker. Old workers send no
// heartbeats, so the lease lasts as long as the job may run.
func (s *Server) legacyNextJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req struct {
		Queue string `json:"queue"`
	}
	if err := decodeBody(r, &req, 64<<10); err != nil {
		s.replyError(w, err)
		return
	}
	if req.Queue == "" {
		writeError(w, http.StatusBadRequest, "queue: the worker's queue name is required")
		return
	}
	s.workers.touch(req.Queue, u.Name, 1, nil)
	ctx, cancel := context.WithTimeout(r.Context(), legacyWait)
	defer cancel()
	js, err := s.cfg.Queue.ClaimWait(ctx, queue.ClaimRequest{Worker: req.Queue, WorkerUser: u.Name, FreeCPUs: s.cfg.MaxCPUs, Max: 1,
		Lease: s.cfg.Caps.Wall() + time.Hour})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "claim: %v", err)
		return
	}
	if len(js) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": js[0].ID, "request": legacyRequest(js[0])})
}

// legacyPostJob takes an old worker's results: form fields "queue" and
// "results" (JSON with "status" and the result), and files "file".
func (s *Server) legacyPostJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "form: %v", err)
			return
		}
	}
	j, err := s.cfg.Store.GetJob(r.Context(), id)
	if err != nil || j.State != job.Active || j.Lease == nil || j.Worker != r.FormValue("queue") {
		writeError(w, http.StatusConflict, "lease lost: job %d is not held by queue %q", id, r.FormValue("queue"))
		return
	}
	var results struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Trace  string `json:"trace"`
	}
	raw := json.RawMessage(r.FormValue("results"))
	if err := json.Unmarshal(raw, &results); err != nil {
		writeError(w, http.StatusBadRequest, "results: not JSON: %v", err)
		return
	}
	st, err := job.ParseState(results.Status)
	if err != nil || !st.Terminal() {
		writeError(w, http.StatusBadRequest, "results.status: %q is not COMPLETE, ERROR or CANCEL", results.Status)
		return
	}
	res := queue.Result{State: st, Reason: strings.TrimSpace(results.Error + " " + results.Trace)}
	if st == job.Complete {
		res.Result = raw
	}
	dir := s.cfg.Root.Job(id)
	_, err = s.cfg.Queue.FinishWith(r.Context(), id, j.Lease.Token, res, func() error {
		if r.MultipartForm == nil {
			return nil
		}
		if err := jobfs.MkdirAll(dir.Output(), 0o755); err != nil {
			return err
		}
		for _, fh := range r.MultipartForm.File["file"] {
			name, err := jobdir.CleanName(filepath.Base(fh.Filename))
			if err != nil {
				return badRequest("file: %v", err)
			}
			f, err := fh.Open()
			if err != nil {
				return err
			}
			_, err = jobdir.WriteFile(dir.Output(), name, f, s.cfg.Caps.DiskMB<<20)
			f.Close()
			if err != nil {
				return fmt.Errorf("file %s: %w", name, err)
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrLeaseLost) {
		writeError(w, http.StatusConflict, "lease lost: the result of job %d came too late and was refused", id)
		return
	}
	if err != nil {
		s.replyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
