package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Long fits: stop one early and keep what it found, or continue an ended
// DREAM fit for more samples in a new job (docs/checkpoint.md).
func (s *Server) longFitRoutes() {
	s.mux.Handle("POST /api/v1/jobs/{id}/stop", s.forUsers(s.stopJob))
	s.mux.Handle("POST /api/v1/jobs/{id}/resume", s.forUsers(s.resumeJob))
}

// stopJob asks a running fit (native or bumps) to end now, COMPLETE with
// its best point and, for DREAM, the draws so far. 202: the job ends shortly.
func (s *Server) stopJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	if j, err := s.StopJob(r, j); err != nil {
		s.replyError(w, err)
	} else {
		writeJSON(w, http.StatusAccepted, j)
	}
}

// StopJob asks the running job j to stop early (see stopJob); errors are
// *SubmitError with the status to answer.
func (s *Server) StopJob(r *http.Request, j *job.Job) (*job.Job, error) {
	if j.Service != "fit" && j.Service != "bumps" {
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d is a %s job: stop early ends fits (services fit and bumps) only; cancel it instead", j.ID, j.Service)}
	}
	if j.State != job.Active {
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d is %s, not running: only a running fit can be stopped", j.ID, j.State)}
	}
	id := j.ID
	j, err := s.cfg.Queue.Stop(r.Context(), id)
	switch {
	case errors.Is(err, queue.ErrNotRunning):
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d is %s, not running: only a running fit can be stopped", id, j.State)}
	case errors.Is(err, store.ErrNotFound):
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("no job %d", id)}
	case err != nil:
		return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("stop: %v", err)}
	}
	// A remote worker hears of it in its next heartbeat's answer. The
	// request is also left in the job's directory: a fit that the
	// Slurm executor runs on another node of the shared directory looks
	// for it there, and so does the next attempt should this one be lost.
	stamp := []byte(time.Now().UTC().Format(time.RFC3339) + "\n")
	if err := jobfs.Replace(string(s.cfg.Root.Job(j.ID)), service.StopFile, stamp, 0o644); err != nil {
		s.log.Warn("stop: record the request in the job directory", "job", j.ID, "err", err)
	}
	return j, nil
}

// ResumeRequest is the body of POST /api/v1/jobs/{id}/resume.
type ResumeRequest struct {
	// Samples is how many more DREAM draws the new job makes.
	Samples int `json:"samples"`
	// Name of the new job; default "<old name> (continued)".
	Name string `json:"name"`
}

// maxResumeSamples bounds one continuation, like a submission's sample
// budget is bounded by its memory limit.
const maxResumeSamples = 100_000_000

// resumeJob submits a new job that continues the caller's ended DREAM
// fit from its final state for body.samples more draws: 201 with the new
// job.
func (s *Server) resumeJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	old := s.jobToChange(w, r, u)
	if old == nil {
		return
	}
	var req ResumeRequest
	if !readSmallBody(w, r, &req, false) {
		return
	}
	j, err := s.ResumeJob(r, u, old, req)
	s.answerCreated(w, j, err)
}

// ResumeJob submits, for u, the continuation of u's ended fit old (see
// resumeJob). Errors are *SubmitError.
func (s *Server) ResumeJob(r *http.Request, u *store.User, old *job.Job, req ResumeRequest) (*job.Job, error) {
	switch {
	case req.Samples <= 0 || req.Samples > maxResumeSamples:
		return nil, badRequest("samples: %d is not accepted; give the number of further draws, 1 to %d", req.Samples, maxResumeSamples)
	case old.Owner != u.Name:
		return nil, &httpError{http.StatusForbidden, fmt.Sprintf("job %d belongs to %s: only its owner can continue it", old.ID, old.Owner)}
	case old.Service != "fit":
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d is a %s job: only native DREAM fits (service fit) can be continued", old.ID, old.Service)}
	case old.State != job.Complete:
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d is %s: only a finished or stopped fit can be continued", old.ID, old.State)}
	}
	dir := string(s.cfg.Root.Job(old.ID))
	state, err := jobfs.ReadFile(dir, service.CheckpointFile, 4<<30)
	var info fit.CheckpointInfo
	if err == nil {
		info, err = fit.InspectCheckpoint(state)
	}
	if err == nil && (!info.Final || info.Fitter != "dream") {
		err = fmt.Errorf("its saved state is not the final state of a DREAM fit (fitter %s)", info.Fitter)
	}
	if err != nil {
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d cannot be continued: %v", old.ID, err)}
	}
	spec, err := withSamples(old.Spec, req.Samples)
	if err != nil {
		return nil, &httpError{http.StatusConflict, fmt.Sprintf("job %d cannot be continued: %v", old.ID, err)}
	}
	staging, err := s.cfg.Root.Stage()
	if err != nil {
		return nil, &httpError{http.StatusInternalServerError, err.Error()}
	}
	defer s.cfg.Root.Discard(staging) // gone already if the job adopted it
	if err := copyInput(filepath.Join(dir, "input"), filepath.Join(staging, "input"), s.cfg.MaxUpload); err != nil {
		return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("copy job %d's files: %v", old.ID, err)}
	}
	if err := jobfs.Replace(staging, service.ContinueFile, state, 0o600); err != nil {
		return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("keep job %d's state: %v", old.ID, err)}
	}
	name := req.Name
	if name == "" {
		name = old.Name + " (continued)"
		if old.Name == "" {
			name = fmt.Sprintf("job %d (continued)", old.ID)
		}
	}
	return s.SubmitJob(r.Context(), u, &Submission{Name: name, Service: "fit", Spec: spec}, staging)
}

// withSamples is spec with options.samples set to n.
func withSamples(spec json.RawMessage, n int) (json.RawMessage, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("its spec: %w", err)
	}
	opts := map[string]json.RawMessage{}
	if raw, ok := doc["options"]; ok {
		if err := json.Unmarshal(raw, &opts); err != nil {
			return nil, fmt.Errorf("its spec's options: %w", err)
		}
	}
	opts["samples"] = json.RawMessage(fmt.Sprint(n))
	var err error
	if doc["options"], err = json.Marshal(opts); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// copyInput copies the regular files under from into to, through the
// door on both sides.
func copyInput(from, to string, max int64) error {
	dst, err := jobfs.OpenDir(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	return jobfs.Walk(from, func(rel string, _ fs.FileInfo) error {
		b, err := jobfs.ReadFile(from, rel, max)
		if err != nil {
			return err
		}
		if d := path.Dir(rel); d != "." {
			if err := dst.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		return dst.WriteFile(rel, b, 0o644)
	})
}
