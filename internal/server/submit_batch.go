package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// MaxBatch bounds the jobs of one batch submission.
const MaxBatch = 1000

// submitBatch takes a JSON array of job documents (as POST /api/v1/jobs
// takes one, without files) and answers 201 with the array of jobs, in
// the same order. All are accepted or none: an error names the index of
// the first job at fault ("jobs[3].spec.seconds: ...").
func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request, u *store.User, body []byte) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		s.replyError(w, badRequest("jobs: %v", err))
		return
	}
	subs := make([]*Submission, len(items))
	for i, item := range items {
		var sub Submission
		if err := strictjson.Decode(item, fmt.Sprintf("jobs[%d]", i), &sub); err != nil {
			s.replyError(w, badRequest("%v", err))
			return
		}
		subs[i] = &sub
	}
	js, err := s.SubmitJobs(r.Context(), u, subs)
	if err != nil {
		s.replyError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, js)
}

// SubmitJobs checks submissions without files for u and queues them in
// one transaction, all or none. Errors are *SubmitError; one about a
// single job names its index.
func (s *Server) SubmitJobs(ctx context.Context, u *store.User, subs []*Submission) ([]*job.Job, error) {
	switch {
	case len(subs) == 0:
		return nil, badRequest("jobs: an empty array (send at least one job)")
	case len(subs) > MaxBatch:
		return nil, badRequest("jobs: %d jobs in one request (at most %d)", len(subs), MaxBatch)
	}
	if err := s.admit(ctx, u, len(subs), 0); err != nil {
		return nil, err
	}
	qs := make([]queue.Submission, len(subs))
	for i, sub := range subs {
		var err error
		if qs[i], err = s.checkSubmission(ctx, u, sub, ""); err != nil {
			var he *httpError
			if errors.As(err, &he) {
				return nil, &httpError{he.code, fmt.Sprintf("jobs[%d].%s", i, he.msg)}
			}
			return nil, err
		}
	}
	if err := s.defaultNotify(ctx, u, subs, qs); err != nil {
		return nil, err
	}
	js, err := s.cfg.Queue.SubmitAll(ctx, qs, nil)
	if err != nil {
		return nil, storeError(err)
	}
	return js, nil
}
