package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The original Bumps job queue's routes (extra/jobqueue: client.py, the
// worker daemon, server.py), with its shapes, so its client and worker
// work unchanged; docs/old-routes.md lists every exchange. They take the
// same tokens, also as the password of HTTP basic auth, and answer 200 on
// success, the only code the old client accepts; unknown ids are 404.

func (s *Server) legacyRoutes() {
	m, user := s.mux, s.forUsers
	old := func(h handlerFunc) http.Handler { return basicChallenge(user(h)) }
	m.Handle("GET /jobs.json", old(s.legacyList))
	m.Handle("POST /jobs.json", old(s.legacySubmit))
	m.Handle("GET /jobs/{name}", old(s.legacyShow))
	m.Handle("POST /jobs/{name}", old(s.legacyAction))
	m.Handle("DELETE /jobs/{name}", old(s.legacyDelete))
	m.Handle("GET /jobs/{id}/results.json", old(s.legacyResults))
	m.Handle("GET /jobs/{id}/data/index.json", old(s.legacyFiles))
	m.Handle("GET /jobs/{id}/data/{file}", old(s.legacyFile))
	// The old worker polls status.json to learn of cancels.
	m.Handle("GET /jobs/{id}/status.json", basicChallenge(s.authenticate(s.legacyStatus, store.RoleUser, store.RoleAdmin, store.RoleWorker)))
	m.Handle("POST /jobs/nextjob.json", basicChallenge(s.forWorkers(s.legacyNextJob)))
	m.Handle("POST /jobs/{id}/postjob", basicChallenge(s.forWorkers(s.legacyPostJob)))
}

// basicChallenge adds a Basic challenge to the 401s of the old routes:
// httplib2, which the old client and worker use, sends credentials only
// in answer to a challenge of a scheme it knows, and it knows no Bearer.
func basicChallenge(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(challenger{w}, r)
	})
}

type challenger struct{ http.ResponseWriter }

func (c challenger) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		c.Header().Add("WWW-Authenticate", `Basic realm="bumpserve"`)
	}
	c.ResponseWriter.WriteHeader(code)
}

// The documents the old protocol passes through unchanged are kept in the
// job's directory beside input/ and output/, so they are not among the
// job's files: the request as the old client submitted it, and the
// results as the old worker posted them.
const (
	oldRequestFile = "old-request.json"
	oldResultsFile = "old-results.json"
)

// maxOldDoc bounds an old document read back.
const maxOldDoc = 64 << 20

func oldDoc(d jobdir.Dir, name string) (json.RawMessage, bool) {
	b, err := jobfs.ReadFile(string(d), name, maxOldDoc)
	return b, err == nil && json.Valid(b)
}

// legacyRequest is the old job record: the request as the old client sent
// it, or for a job submitted otherwise, the same shape built from it.
func (s *Server) legacyRequest(j *job.Job) json.RawMessage {
	if b, ok := oldDoc(s.cfg.Root.Job(j.ID), oldRequestFile); ok {
		return b
	}
	b, _ := json.Marshal(map[string]any{"name": j.Name, "service": j.Service, "data": j.Spec})
	return b
}

// legacyState is a job's state as the old queue showed it: a cancelled job
// is CANCEL at once, even while its executor is still stopping it.
func legacyState(j *job.Job) job.State {
	if j.State == job.Active && j.CancelRequested {
		return job.Cancel
	}
	return j.State
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

// legacySubmit takes the old client's request, a JSON object with
// "service", "name", "notify", "version" and "data" (any other keys are
// kept): "data" is the spec of a bumpserve service; a service only old
// workers run takes the whole request as its spec.
func (s *Server) legacySubmit(w http.ResponseWriter, r *http.Request, u *store.User) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxJSON))
	if err != nil {
		s.replyError(w, err)
		return
	}
	var req struct {
		Name    string          `json:"name"`
		Service string          `json:"service"`
		Data    json.RawMessage `json:"data"`
		Spec    json.RawMessage `json:"spec"`
		Notify  any             `json:"notify"`
	}
	if err := json.Unmarshal(body, &req); err != nil || !strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		writeError(w, http.StatusBadRequest, "body: the job request must be a JSON object with service, name and data (%v)", err)
		return
	}
	spec := req.Spec
	if len(spec) == 0 {
		spec = req.Data
	}
	if s.oldOnly[req.Service] {
		spec = body
	}
	staging, err := s.cfg.Root.Stage()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	defer s.cfg.Root.Discard(staging) // gone already if the job adopted it
	if err := jobfs.WriteFile(staging, oldRequestFile, body, 0o644); err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	j, err := s.SubmitJob(r.Context(), u, &Submission{Name: req.Name, Service: req.Service, Spec: spec, Notify: s.legacyNotify(req.Notify)}, staging)
	if err != nil {
		s.replyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "job": json.RawMessage(body)})
}

// legacyNotify reads the old request's "notify", an email address the old
// server was to write to when the job ended (or, here, a webhook URL). It
// is honoured when this server can deliver it; otherwise (no --smtp, an
// http URL without --allow-http-webhooks, not an address at all) the job
// goes on with its owner's default, as it did before: an old client has
// no way to show an error about a field it always sent.
func (s *Server) legacyNotify(v any) *job.Notify {
	text, _ := v.(string)
	text = strings.TrimSpace(text)
	var n job.Notify
	switch {
	case text == "":
		return nil
	case strings.Contains(text, "://"):
		n.Webhook = text
	default:
		n.Email = text
	}
	if err := s.checkNotify("notify", n); err != nil {
		s.log.Info("old client's notify not honoured", "notify", text, "why", err)
		return nil
	}
	return &n
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
	if j := s.legacyJob(w, r, u, name, false); j != nil {
		writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "job": s.legacyRequest(j)})
	}
}

// legacyJob loads a job the caller may see (to change, if change), or
// answers 404 (403 to a group member who may only read it).
func (s *Server) legacyJob(w http.ResponseWriter, r *http.Request, u *store.User, raw string, change bool) *job.Job {
	r.SetPathValue("id", raw)
	if change {
		return s.jobToChange(w, r, u)
	}
	return s.jobFor(w, r, u)
}

// legacyAction is the old client's stop: POST /jobs/{id}?action=stop,
// which cancels the job and answers with its status (a finished job is
// left as it is).
func (s *Server) legacyAction(w http.ResponseWriter, r *http.Request, u *store.User) {
	name, _ := strings.CutSuffix(r.PathValue("name"), ".json")
	j := s.legacyJob(w, r, u, name, true)
	if j == nil {
		return
	}
	if a := r.URL.Query().Get("action"); a != "stop" {
		writeError(w, http.StatusBadRequest, "action: %q is not an action (accepted: stop)", a)
		return
	}
	c, err := s.cfg.Queue.Cancel(r.Context(), j.ID)
	switch {
	case errors.Is(err, store.ErrFinished):
		c = j
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no job %q", name)
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "cancel: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": c.ID, "status": legacyState(c)})
}

func (s *Server) legacyDelete(w http.ResponseWriter, r *http.Request, u *store.User) {
	name, _ := strings.CutSuffix(r.PathValue("name"), ".json")
	j := s.legacyJob(w, r, u, name, true)
	if j == nil {
		return
	}
	if err := s.DeleteJob(r.Context(), j.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusInternalServerError, "delete: %v", err)
		return
	}
	s.legacyIDs(w, r, u, "")
}

// legacyResults answers as the old server did: the results document as
// the worker posted it, with "id" set; before that, only the status. A
// job run by bumpserve's own executors gets the same shape: "result" when
// COMPLETE, "error" and "trace" when ERROR.
func (s *Server) legacyResults(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	out := map[string]any{}
	if b, ok := oldDoc(s.cfg.Root.Job(j.ID), oldResultsFile); ok && j.State.Terminal() {
		json.Unmarshal(b, &out)
	} else {
		out["status"] = legacyState(j)
		switch j.State {
		case job.Complete:
			out["result"] = j.Result
		case job.Error:
			out["error"], out["trace"] = j.Reason, ""
		case job.Cancel:
			out["message"] = j.Reason
		}
	}
	out["id"] = j.ID
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
