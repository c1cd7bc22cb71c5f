package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// CopyRequest is the (optional) body of POST /api/v1/jobs/{id}/copy.
type CopyRequest struct {
	// Name of the new job; default "<old name> (copy)".
	Name string `json:"name"`
}

// copyJob submits, as the caller's own, a new job with the spec and
// input files of one the caller may see (theirs, or one shared with a
// group of theirs): 201 with the new job.
func (s *Server) copyJob(w http.ResponseWriter, r *http.Request, u *store.User) {
	old := s.jobFor(w, r, u)
	if old == nil {
		return
	}
	var req CopyRequest
	if !readSmallBody(w, r, &req, true) {
		return
	}
	j, err := s.CopyJob(r, u, old, req)
	s.answerCreated(w, j, err)
}

// readSmallBody decodes a body of at most 64 KiB into v, strictly (an
// unknown field is named); optional lets an empty body through. It
// answers 400 and returns false for a bad one.
func readSmallBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err == nil && !(optional && len(bytes.TrimSpace(body)) == 0) {
		err = strictjson.Decode(body, "body", v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return false
	}
	return true
}

// answerCreated answers a request that made a new job: 201 with it, or
// the error.
func (s *Server) answerCreated(w http.ResponseWriter, j *job.Job, err error) {
	if err != nil {
		s.replyError(w, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", j.ID))
	writeJSON(w, http.StatusCreated, j)
}

// CopyJob submits for u a new job with old's service, spec and input
// files (copied through the door, jobfs), shared with no one: the
// pages' copy button and the API's route share it. old is a job u may
// see. The copy is checked like any submission (u's quotas, today's
// limits). Errors are *SubmitError.
func (s *Server) CopyJob(r *http.Request, u *store.User, old *job.Job, req CopyRequest) (*job.Job, error) {
	staging, err := s.cfg.Root.Stage()
	if err != nil {
		return nil, &httpError{http.StatusInternalServerError, err.Error()}
	}
	defer s.cfg.Root.Discard(staging) // gone already if the job adopted it
	from := filepath.Join(string(s.cfg.Root.Job(old.ID)), "input")
	if _, err := jobfs.Lstat(string(s.cfg.Root.Job(old.ID)), "input"); err == nil {
		if err := copyInput(from, filepath.Join(staging, "input"), s.cfg.MaxUpload); err != nil {
			return nil, &httpError{http.StatusInternalServerError, fmt.Sprintf("copy job %d's files: %v", old.ID, err)}
		}
	}
	name := req.Name
	if name == "" {
		name = old.Name + " (copy)"
		if old.Name == "" {
			name = fmt.Sprintf("job %d (copy)", old.ID)
		}
	}
	return s.SubmitJob(r.Context(), u, &Submission{Name: name, Service: old.Service, Spec: old.Spec, Priority: 0}, staging)
}
