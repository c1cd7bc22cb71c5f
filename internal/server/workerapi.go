package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/api"

	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// The worker protocol, used by `bumpserve worker` (see package worker):
//
//	POST /api/v1/worker/claim                 long-poll for jobs fitting the free slots
//	GET  /api/v1/worker/jobs/{id}/input       the job's input/ as a tar stream
//	POST /api/v1/worker/jobs/{id}/heartbeat   renew the lease, report progress, learn of cancels
//	POST /api/v1/worker/jobs/{id}/complete    multipart: "result" JSON, then "output" tar;
//	                                          answers with the slot's next job if asked
//	POST /api/v1/worker/jobs/{id}/release     hand a job back unfinished
//	POST /api/v1/worker/heartbeats            renew the leases of several jobs at once
//	POST /api/v1/worker/completions           several ends at once, small outputs inline,
//	                                          answered with the worker's next jobs if asked
//	PUT  /api/v1/worker/jobs/{id}/checkpoint  a native fit's latest checkpoint (workercheckpoint.go)
//	GET  /api/v1/worker/jobs/{id}/checkpoint  the checkpoint an earlier attempt left
//	GET  /api/v1/worker/jobs/{id}/continue    the ended fit a continuing job goes on from
//
// A current worker renews all its leases with one heartbeats call and
// reports its ends with completions; the per-job heartbeat and complete
// routes stay for older workers and for outputs too large to go inline.
//
// Every call on a job carries its lease token (header X-Lease-Token or the
// "token" field): a worker can act only on jobs it holds, and a call under
// an expired lease gets 409 and changes nothing.

const (
	maxClaimWait  = 60 * time.Second
	busyClaimWait = time.Second
)

func (s *Server) workerClaim(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.ClaimRequest
	if err := decodeBody(r, &req, 64<<10); err != nil {
		s.replyError(w, err)
		return
	}
	if err := s.checkClaim(req.Name, req.Free, req.Services); err != nil {
		s.replyError(w, err)
		return
	}
	switch {
	case req.Slots < 0:
		writeError(w, http.StatusBadRequest, "slots: %d is negative", req.Slots)
		return
	case req.MaxJobs < 0:
		writeError(w, http.StatusBadRequest, "max_jobs: %d is negative (0: no cap beyond free)", req.MaxJobs)
		return
	}
	maxJobs := req.Free
	if req.MaxJobs > 0 {
		maxJobs = min(maxJobs, req.MaxJobs)
	}
	s.workers.touch(req.Name, u.Name, req.Slots, req.Services)
	wait := min(time.Duration(req.WaitSeconds*float64(time.Second)), maxClaimWait)
	if req.Free < req.Slots {
		// A busy worker's running jobs will free CPUs that this claim
		// does not know of (and a job wider than Free may be waiting for
		// them): keep its claims short, so it asks again with more.
		wait = min(wait, busyClaimWait)
	}
	var js []*job.Job
	var err error
	cr := queue.ClaimRequest{Worker: req.Name, WorkerUser: u.Name, Services: req.Services, FreeCPUs: req.Free, Max: maxJobs}
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		js, err = s.cfg.Queue.ClaimWait(ctx, cr)
		cancel()
	} else {
		js, err = s.cfg.Queue.Claim(r.Context(), cr)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "claim: %v", err)
		return
	}
	s.handOver(w, r, req.Name, js)
}

// checkClaim checks what a claim, or a completion asking for the next
// job, says of the worker.
func (s *Server) checkClaim(name string, free int, services []string) error {
	switch {
	case name == "" || len(name) > 200:
		return badRequest("name: the worker's name is required (at most 200 bytes)")
	case free < 0 || free > 4096:
		return badRequest("free: %d is not between 0 and 4096", free)
	}
	for _, svc := range services {
		if _, err := s.cfg.Services.Lookup(svc); err != nil {
			return badRequest("services: %v", err)
		}
	}
	return nil
}

// handOver answers with jobs just leased to a worker, or, if the worker
// hung up meanwhile and will never hear of them, gives them back at once
// rather than after a lease.
func (s *Server) handOver(w http.ResponseWriter, r *http.Request, name string, js []*job.Job) {
	if r.Context().Err() != nil {
		s.handBack(js)
		return
	}
	writeJSON(w, http.StatusOK, api.ClaimResponse{Jobs: s.claimed(js), Drain: s.cfg.Queue.IsDrained(r.Context(), name)})
}

// claimed is how jobs just leased to a worker travel to it.
func (s *Server) claimed(js []*job.Job) []api.ClaimedJob {
	out := make([]api.ClaimedJob, len(js))
	for i, j := range js {
		inputs, _ := s.cfg.Root.Job(j.ID).ListInput()
		out[i] = api.ClaimedJob{Job: j, Spec: j.Spec, LeaseToken: j.Lease.Token, LeaseSeconds: s.cfg.Queue.Lease().Seconds(), Inputs: len(inputs)}
		out[i].Checkpoint, out[i].Continue = s.savedState(j)
	}
	return out
}

// workerReconcile hands back the jobs a named worker does not hold,
// though the controller thinks it does: the answer to a claim it gave up
// on, or everything held before it restarted.
func (s *Server) workerReconcile(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.ReconcileRequest
	if err := decodeBody(r, &req, 1<<20); err != nil {
		s.replyError(w, err)
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusBadRequest, "name: the worker's name is required")
		return
	}
	held, err := s.cfg.Store.HeldBy(r.Context(), req.Name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	holding := map[int64]bool{}
	for _, id := range req.Holding {
		holding[id] = true
	}
	out := api.ReconcileResponse{Released: []int64{}}
	for _, j := range held {
		// Only jobs this identity claimed: a worker token cannot hand back
		// another identity's jobs by naming its workers.
		if holding[j.ID] || j.WorkerUser != u.Name {
			continue
		}
		if req.Restarted {
			_, err = s.cfg.Queue.ExpireLease(r.Context(), j.ID, j.Lease.Token)
		} else {
			err = s.cfg.Queue.Release(r.Context(), j.ID, j.Lease.Token)
		}
		if err == nil {
			out.Released = append(out.Released, j.ID)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// heldJob loads the job in the path and checks the caller's lease on it.
// A job that does not exist and a lease that is wrong or gone answer
// alike: 409, "lease lost", so a worker learns only that it must stop.
func (s *Server) heldJob(w http.ResponseWriter, r *http.Request, token string) *job.Job {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
		return nil
	}
	j, err := s.cfg.Store.GetJob(r.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return nil
	}
	if err != nil || j.Lease == nil || token == "" || j.Lease.Token != token {
		writeError(w, http.StatusConflict, "lease lost: job %d is not held under this lease", id)
		return nil
	}
	return j
}

func (s *Server) workerInput(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.heldJob(w, r, r.Header.Get("X-Lease-Token"))
	if j == nil {
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := archive.WriteTar(w, s.cfg.Root.Job(j.ID).Input()); err != nil {
		s.log.Warn("send input", "job", j.ID, "err", err)
	}
}

func (s *Server) workerHeartbeat(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.HeartbeatRequest
	if err := decodeBody(r, &req, 1<<20); err != nil {
		s.replyError(w, err)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if req.Name != "" {
		s.workers.touch(req.Name, u.Name, 0, nil)
	}
	cancel, err := s.cfg.Queue.Heartbeat(r.Context(), id, req.Token, req.Progress)
	switch {
	case errors.Is(err, job.ErrLeaseLost):
		writeError(w, http.StatusConflict, "lease lost: job %d is not held under this lease", id)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "heartbeat: %v", err)
	default:
		writeJSON(w, http.StatusOK, api.HeartbeatResponse{Cancel: cancel, Stop: !cancel && s.cfg.Queue.StopAsked(id), Drain: req.Name != "" && s.cfg.Queue.IsDrained(r.Context(), req.Name)})
	}
}

func (s *Server) workerRelease(w http.ResponseWriter, r *http.Request, u *store.User) {
	var req api.HeartbeatRequest
	if err := decodeBody(r, &req, 64<<10); err != nil {
		s.replyError(w, err)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.cfg.Queue.Release(r.Context(), id, req.Token); err != nil {
		if errors.Is(err, job.ErrLeaseLost) {
			writeError(w, http.StatusConflict, "lease lost: job %d is not held under this lease", id)
			return
		}
		writeError(w, http.StatusInternalServerError, "release: %v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// workerComplete takes a job's end: first the "result" part, whose lease
// is checked before any upload is read; then the "output" tar, unpacked
// beside the job's output/ and swapped in once the lease is checked again,
// just before the result is recorded (queue.FinishWith), so a refused
// (late) result changes nothing.
func (s *Server) workerComplete(w http.ResponseWriter, r *http.Request, u *store.User) {
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype != "multipart/form-data" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be multipart/form-data with parts \"result\" and \"output\"")
		return
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, s.cfg.Caps.DiskMB<<20+s.cfg.MaxJSON), params["boundary"])
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "result" {
		writeError(w, http.StatusBadRequest, "multipart: the first part must be \"result\"")
		return
	}
	var req api.CompleteRequest
	if err := json.NewDecoder(io.LimitReader(part, s.cfg.MaxJSON)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "result: %v", err)
		return
	}
	if !req.State.Terminal() {
		writeError(w, http.StatusBadRequest, "state: %q is not a final state (accepted: COMPLETE, ERROR, CANCEL)", req.State)
		return
	}
	if n := req.Next; n != nil {
		if err := s.checkClaim(n.Name, n.Free, n.Services); err != nil {
			s.replyError(w, badRequest("next.%v", err))
			return
		}
	}
	j := s.heldJob(w, r, req.Token)
	if j == nil {
		return
	}
	dir := s.cfg.Root.Job(j.ID)
	upload, err := stageJobOutput(dir)
	if err != nil {
		storageError(w, err)
		return
	}
	defer jobfs.RemoveTree(upload) // gone by rename if the result was taken
	if part, err = mr.NextPart(); err == nil && part.FormName() == "output" {
		if err := archive.ExtractTar(part, upload, s.outputLimit(j), archive.MaxOutputFiles); err != nil {
			if !diskspace.IsFull(err) {
				err = badRequest("output: %v", err)
			}
			s.replyError(w, err)
			return
		}
	} else if err != nil && err != io.EOF {
		writeError(w, http.StatusBadRequest, "multipart: %v", err)
		return
	}
	c := queue.Completion{ID: j.ID, Token: req.Token, Result: queue.Result{
		State: req.State, Reason: req.Reason, Result: req.Result, Protections: req.Protections,
	}, Before: func() error { return swapOutput(dir, upload, j.Attempt) }}
	// The slot's next job, without a claim of its own; none if nothing
	// pending fits (the worker then claims as usual).
	next := s.nextClaim(u, req.Next)
	errs, claimed := s.cfg.Queue.Complete(r.Context(), []queue.Completion{c}, next)
	if status, msg := completionStatus(j.ID, errs[0]); status != http.StatusOK {
		s.handBack(claimed)
		writeError(w, status, "%s", msg)
		return
	}
	if req.Next == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.handOver(w, r, req.Next.Name, claimed)
}

// nextClaim is the claim riding on a completion (nil for none).
func (s *Server) nextClaim(u *store.User, n *api.NextRequest) *queue.ClaimRequest {
	if n == nil || n.Free <= 0 {
		return nil
	}
	s.workers.touch(n.Name, u.Name, 0, n.Services)
	return &queue.ClaimRequest{Worker: n.Name, WorkerUser: u.Name, Services: n.Services, FreeCPUs: n.Free, Max: cmp.Or(n.MaxJobs, 1)}
}

// completionStatus is the answer to one recorded (or refused) end.
func completionStatus(id int64, err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, job.ErrLeaseLost):
		return http.StatusConflict, fmt.Sprintf("lease lost: the result of job %d came too late and was refused", id)
	case diskspace.IsFull(err):
		return http.StatusInsufficientStorage, fmt.Sprintf("complete: %v", diskspace.ErrFull)
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.code, he.msg
	}
	return http.StatusInternalServerError, fmt.Sprintf("complete: %v", err)
}

// handBack releases jobs leased for a worker that will not hear of them.
func (s *Server) handBack(js []*job.Job) {
	for _, j := range js {
		s.cfg.Queue.Release(context.Background(), j.ID, j.Lease.Token)
	}
}

// storageError answers a failure to store: 507 if the disk is full.
func storageError(w http.ResponseWriter, err error) {
	if diskspace.IsFull(err) {
		writeError(w, http.StatusInsufficientStorage, "%v", diskspace.ErrFull)
		return
	}
	writeError(w, http.StatusInternalServerError, "%v", err)
}

// outputLimit is how many bytes a worker may upload as j's output: the
// job's own disk_mb (its files were held to it while it ran; sparse ones
// arrive dense), with room for the log and results bumpserve adds.
func (s *Server) outputLimit(j *job.Job) int64 {
	limits, _, err := job.ReadEnvelope(j.Spec, s.cfg.Caps, 0)
	if err != nil || limits.DiskMB <= 0 {
		return s.cfg.Caps.DiskMB << 20
	}
	return limits.DiskMB<<20 + s.cfg.MaxJSON
}

// stageJobOutput makes a fresh directory in dir for a worker's upload of the
// job's output, to be swapped in (swapOutput) when its end is recorded.
func stageJobOutput(dir jobdir.Dir) (string, error) {
	if err := jobfs.MkdirAll(string(dir), 0o755); err != nil { // none yet for a job without uploads
		return "", err
	}
	return os.MkdirTemp(string(dir), "upload-")
}

// swapOutput makes upload (a directory in dir) the job's output/, keeping
// what was there under previous/.
func swapOutput(dir jobdir.Dir, upload string, attempt int) error {
	jd, err := jobfs.OpenDir(string(dir))
	if err != nil {
		return err
	}
	defer jd.Close()
	if _, err := jd.Lstat("output"); err == nil {
		if err := jd.MkdirAll("previous", 0o755); err != nil {
			return err
		}
		aside := fmt.Sprintf("previous/replaced-%d-%d", attempt, time.Now().UnixNano())
		if err := jd.Rename("output", aside); err != nil {
			return err
		}
	}
	return jd.Rename(filepath.Base(upload), "output")
}

// decodeBody reads a small JSON body strictly.
func decodeBody(r *http.Request, v any, limit int64) error {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("body: %v", err)
	}
	// Worded by path like a job's fields ("body.next.bogus: unknown
	// field (accepted: ...)").
	if err := strictjson.Decode(data, "body", v); err != nil {
		return badRequest("%v", err)
	}
	return nil
}
