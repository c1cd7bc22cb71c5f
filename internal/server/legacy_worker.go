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

	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The old worker's side of the old routes. An old worker names itself
// only by a queue name, sends no heartbeats and holds no lease token: it
// polls GET /jobs/{id}/status.json while a job runs, and stops the job
// when the status is no longer ACTIVE. Those polls renew the leases of
// everything that queue name holds under the worker's identity, so its
// jobs hold the normal lease and a dead old worker's jobs run elsewhere
// once it ends.

// legacyWait is how long nextjob.json holds a request when the queue is
// empty: short, since old workers do not expect a long poll, but enough
// to save most of their polling. A running old worker asks while its job
// runs, and its status polls wait meanwhile, so it is also well inside
// the lease those polls renew.
func (s *Server) legacyWait() time.Duration {
	return min(5*time.Second, s.cfg.Queue.Lease()/4)
}

// legacyDeleted is the status the old server gave a deleted job. An old
// worker stops a job whose status is not ACTIVE, but takes any error
// answer for a server that is away and runs on.
const legacyDeleted = "DELETE"

// legacyStatus is {"id", "status"}. Users see their jobs; a worker sees
// the jobs its identity claimed, and its poll renews their leases. A job
// that no longer exists is DELETE to a worker, so that an old worker
// stops a job deleted under it, as it did with the old server.
func (s *Server) legacyStatus(w http.ResponseWriter, r *http.Request, u *store.User) {
	if u.Role != store.RoleWorker {
		if j := s.jobFor(w, r, u); j != nil {
			writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": legacyState(j)})
		}
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var j *job.Job
	if err == nil {
		j, err = s.cfg.Store.GetJob(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": legacyDeleted})
			return
		}
	}
	if err != nil || j.WorkerUser != u.Name {
		writeError(w, http.StatusNotFound, "no job %q held by this worker", r.PathValue("id"))
		return
	}
	if j.State == job.Active {
		s.renewOld(r.Context(), j.Worker, u.Name)
		if j, err = s.cfg.Store.GetJob(r.Context(), id); err != nil {
			writeError(w, http.StatusNotFound, "no job %q held by this worker", r.PathValue("id"))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": legacyState(j)})
}

// renewOld renews the leases of the jobs an old worker's queue name holds
// under its identity: the job it runs and the next one it fetched ahead.
func (s *Server) renewOld(ctx context.Context, queueName, user string) {
	held, err := s.cfg.Store.HeldBy(ctx, queueName)
	if err != nil {
		s.log.Warn("old worker's leases not renewed", "queue", queueName, "err", err)
		return
	}
	for _, j := range held {
		if j.WorkerUser == user && j.Lease != nil {
			// A lost lease shows in the job's state at the next poll.
			s.cfg.Queue.Heartbeat(ctx, j.ID, j.Lease.Token, nil)
		}
	}
	s.workers.touch(queueName, user, 0, nil)
}

// legacyNextJob hands the next job to an old worker: body {"queue": NAME},
// answer {"id": ID, "request": REQUEST} or {"request": null}. It hands
// only the services of --legacy-worker-services, under the normal lease.
func (s *Server) legacyNextJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req struct {
		Queue string `json:"queue"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10)).Decode(&req); err != nil {
		s.replyError(w, badRequest("body: %v (expected {\"queue\": NAME})", err))
		return
	}
	if req.Queue == "" || len(req.Queue) > 200 {
		writeError(w, http.StatusBadRequest, "queue: the worker's queue name is required (at most 200 bytes)")
		return
	}
	s.renewOld(r.Context(), req.Queue, u.Name)
	ctx, cancel := context.WithTimeout(r.Context(), s.legacyWait())
	defer cancel()
	js, err := s.cfg.Queue.ClaimWait(ctx, queue.ClaimRequest{Worker: req.Queue, WorkerUser: u.Name,
		Services: s.cfg.LegacyWorkerServices, FreeCPUs: s.cfg.MaxCPUs, Max: 1})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "claim: %v", err)
		return
	}
	if len(js) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"request": nil})
		return
	}
	if r.Context().Err() != nil { // it hung up and will never hear of the job
		s.cfg.Queue.Release(context.Background(), js[0].ID, js[0].Lease.Token)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": js[0].ID, "request": s.legacyRequest(js[0])})
}

// legacyPostJob takes an old worker's results: form fields "queue" and
// "results" (the JSON document the old client reads back from
// results.json), and files "file". Only the queue name and identity that
// hold the job may post (404 otherwise, as for a job that does not exist).
func (s *Server) legacyPostJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		writeError(w, http.StatusBadRequest, "form: %v", err)
		return
	}
	queueName := r.FormValue("queue")
	j, err := s.cfg.Store.GetJob(r.Context(), id)
	if err != nil || j.WorkerUser != u.Name || j.Worker != queueName {
		writeError(w, http.StatusNotFound, "no job %d held by queue %q of this worker", id, queueName)
		return
	}
	if j.State != job.Active || j.Lease == nil {
		writeError(w, http.StatusConflict, "lease lost: job %d is %s and no longer held by queue %q", id, j.State, queueName)
		return
	}
	doc, res, err := readOldResults(r.FormValue("results"))
	if err != nil {
		s.replyError(w, err)
		return
	}
	dir := s.cfg.Root.Job(id)
	_, err = s.cfg.Queue.FinishWith(r.Context(), id, j.Lease.Token, res, func() error {
		// A job without uploads has no directory until something is kept.
		if err := jobfs.MkdirAll(dir.Output(), 0o755); err != nil {
			return err
		}
		if err := jobfs.Replace(string(dir), oldResultsFile, doc, 0o644); err != nil {
			return err
		}
		return s.saveOldFiles(r, dir)
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

// readOldResults reads the posted results document as the old server did:
// "status" (ERROR if missing), "result" when COMPLETE, "error" and "trace"
// when ERROR; a document that is not JSON makes the job an ERROR that
// says so, with the text as its trace.
func readOldResults(raw string) (json.RawMessage, queue.Result, error) {
	var doc struct {
		Status  *string         `json:"status"`
		Result  json.RawMessage `json:"result"`
		Error   string          `json:"error"`
		Message string          `json:"message"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		msg := "No results returned from the server"
		b, _ := json.Marshal(map[string]string{"status": "ERROR", "error": msg, "trace": raw})
		return b, queue.Result{State: job.Error, Reason: msg}, nil
	}
	st := job.Error
	if doc.Status != nil {
		var err error
		if st, err = job.ParseState(*doc.Status); err != nil || !st.Terminal() {
			return nil, queue.Result{}, badRequest("results.status: %q is not COMPLETE, ERROR or CANCEL", *doc.Status)
		}
	}
	res := queue.Result{State: st, Reason: strings.TrimSpace(doc.Error)}
	if res.Reason == "" {
		res.Reason = strings.TrimSpace(doc.Message)
	}
	if st == job.Complete {
		res.Result = doc.Result
	}
	return json.RawMessage(raw), res, nil
}

// saveOldFiles stores the posted files (parts "file") in output/, which
// exists.
func (s *Server) saveOldFiles(r *http.Request, dir jobdir.Dir) error {
	if r.MultipartForm == nil {
		return nil
	}
	for _, fh := range r.MultipartForm.File["file"] {
		name, err := archive.CleanName(filepath.Base(fh.Filename))
		if err != nil {
			return badRequest("file: %v", err)
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		_, err = archive.WriteFile(dir.Output(), name, f, s.cfg.Caps.DiskMB<<20)
		f.Close()
		if err != nil {
			return fmt.Errorf("file %s: %w", name, err)
		}
	}
	return nil
}
