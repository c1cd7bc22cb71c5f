package server

import (
	"bytes"
	"errors"
	"net/http"
	"sync"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The batched worker routes: a worker renews every lease it holds in one
// heartbeats call, and reports the ends of several jobs, their small
// outputs inline, in one completions call that also leases its next
// jobs. The queue records the ends in one store call, shared with other
// executors' ends (each succeeds or fails on its own), and the heartbeats
// in another; each job gets its own answer.

// maxBeats is how many jobs one heartbeats call may name.
const maxBeats = 4096

func (s *Server) workerHeartbeats(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.HeartbeatsRequest
	if err := decodeBody(r, &req, 16<<20); err != nil {
		s.replyError(w, err)
		return
	}
	if len(req.Jobs) > maxBeats {
		writeError(w, http.StatusBadRequest, "jobs: %d heartbeats in one call (at most %d)", len(req.Jobs), maxBeats)
		return
	}
	if req.Name != "" {
		s.workers.touch(req.Name, u.Name, 0, nil)
	}
	beats := make([]queue.Beat, len(req.Jobs))
	for i, b := range req.Jobs {
		beats[i] = queue.Beat{ID: b.ID, Token: b.Token, Progress: b.Progress}
	}
	verdicts := s.cfg.Queue.HeartbeatMany(r.Context(), beats)
	out := api.HeartbeatsResponse{Jobs: make([]api.BeatAnswer, len(beats)), Drain: s.cfg.Queue.IsDrained(r.Context(), req.Name)}
	for i, v := range verdicts {
		a := &out.Jobs[i]
		a.ID, a.Cancel, a.Stop = beats[i].ID, v.Cancel, v.Stop
		switch {
		case errors.Is(v.Err, job.ErrLeaseLost):
			a.LeaseLost, a.Cancel, a.Stop = true, false, false
		case v.Err != nil:
			a.Error = "heartbeat: " + v.Err.Error()
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// workerCompletions records several ends: each inline output is unpacked
// beside its job's output/ and swapped in by the transaction that records
// the result, as on the single-job route, so a refused (late) result
// changes nothing.
func (s *Server) workerCompletions(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.CompletionsRequest
	limit := int64(api.MaxCompletions) * (s.cfg.MaxJSON + 2*api.InlineOutputMax)
	if err := decodeBody(r, &req, limit); err != nil {
		s.replyError(w, err)
		return
	}
	if err := s.checkCompletions(&req); err != nil {
		s.replyError(w, err)
		return
	}
	answers := make([]api.CompletionAnswer, len(req.Jobs))
	prepared := make([]queue.Completion, len(req.Jobs))
	cleanups := make([]func(), len(req.Jobs))
	// Each end's lease check and unpacking is its own work: done side by
	// side, as the single-job route's calls would be.
	var wg sync.WaitGroup
	for i, c := range req.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i].ID = c.ID
			var err error
			prepared[i], cleanups[i], err = s.prepareCompletion(r, c)
			if err != nil {
				answers[i].Status, answers[i].Error = completionStatus(c.ID, err)
			}
		}()
	}
	wg.Wait()
	var cs []queue.Completion
	var at []int // answers[at[k]] answers cs[k]
	for i := range req.Jobs {
		defer cleanups[i]()
		if answers[i].Status == 0 {
			cs, at = append(cs, prepared[i]), append(at, i)
		}
	}
	errs, claimed := s.cfg.Queue.Complete(r.Context(), cs, s.nextClaim(u, req.Next))
	for k, err := range errs {
		a := &answers[at[k]]
		a.Status, a.Error = completionStatus(a.ID, err)
	}
	if r.Context().Err() != nil {
		s.handBack(claimed)
		return
	}
	out := api.CompletionsResponse{Jobs: answers, Next: s.claimed(claimed), Drain: s.cfg.Queue.IsDrained(r.Context(), req.Name)}
	writeJSON(w, http.StatusOK, out)
}

// checkCompletions checks what a completions call says as a whole.
func (s *Server) checkCompletions(req *api.CompletionsRequest) error {
	if n := len(req.Jobs); n == 0 || n > api.MaxCompletions {
		return badRequest("jobs: %d ends in one call (accepted: 1 to %d)", n, api.MaxCompletions)
	}
	seen := map[int64]bool{}
	for i, c := range req.Jobs {
		if !c.State.Terminal() {
			return badRequest("jobs[%d].state: %q is not a final state (accepted: COMPLETE, ERROR, CANCEL)", i, c.State)
		}
		if len(c.Output) > api.InlineOutputMax {
			return badRequest("jobs[%d].output: %d bytes inline (at most %d; send larger outputs to /api/v1/worker/jobs/{id}/complete)", i, len(c.Output), api.InlineOutputMax)
		}
		if seen[c.ID] {
			return badRequest("jobs[%d].id: job %d is reported twice", i, c.ID)
		}
		seen[c.ID] = true
	}
	if n := req.Next; n != nil {
		if err := s.checkClaim(n.Name, n.Free, n.Services); err != nil {
			return badRequest("next.%v", err)
		}
		if n.MaxJobs < 0 {
			return badRequest("next.max_jobs: %d is negative (0: one job)", n.MaxJobs)
		}
	}
	return nil
}

// prepareCompletion checks one end's lease and unpacks its output next to
// the job's output/, to be swapped in when the end is recorded. cleanup
// removes the unpacked copy if it was not swapped in.
func (s *Server) prepareCompletion(r *http.Request, c api.Completion) (queue.Completion, func(), error) {
	none := func() {}
	j, err := s.cfg.Store.GetJob(r.Context(), c.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (j.Lease == nil || c.Token == "" || j.Lease.Token != c.Token)) {
		return queue.Completion{}, none, job.ErrLeaseLost
	}
	if err != nil {
		return queue.Completion{}, none, err
	}
	dir := s.cfg.Root.Job(j.ID)
	upload, err := stageJobOutput(dir)
	if err != nil {
		return queue.Completion{}, none, err
	}
	cleanup := func() { jobfs.RemoveTree(upload) } // gone by rename if the result was taken
	if len(c.Output) > 0 {
		if err := archive.ExtractTar(bytes.NewReader(c.Output), upload, s.outputLimit(j), archive.MaxOutputFiles); err != nil {
			if !diskspace.IsFull(err) {
				err = badRequest("output: %v", err)
			}
			return queue.Completion{}, cleanup, err
		}
	}
	return queue.Completion{ID: j.ID, Token: c.Token, Result: queue.Result{
		State: c.State, Reason: c.Reason, Result: c.Result, Protections: c.Protections,
	}, Before: func() error { return swapOutput(dir, upload, j.Attempt) }}, cleanup, nil
}
