// Package api holds the JSON documents of the worker protocol, shared by
// the controller that serves it and the workers that speak it.
package api

import (
	"encoding/json"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// ClaimRequest is the body of POST /api/v1/worker/claim.
type ClaimRequest struct {
	Name  string `json:"name"`
	Slots int    `json:"slots"`
	Free  int    `json:"free"`
	// MaxJobs, if positive, caps how many jobs this claim may return
	// (a worker with a cap on jobs as well as CPUs).
	MaxJobs  int      `json:"max_jobs,omitempty"`
	Services []string `json:"services,omitempty"`
	// WaitSeconds is how long the controller may hold the request open
	// when there is no work (long poll).
	WaitSeconds float64 `json:"wait_seconds"`
}

// ClaimedJob is one job handed to a worker, with its lease.
type ClaimedJob struct {
	*job.Job
	Spec         json.RawMessage `json:"spec"`
	LeaseToken   string          `json:"lease_token"`
	LeaseSeconds float64         `json:"lease_seconds"`
	// Inputs is how many uploaded files the job has; with none, the
	// worker skips the download.
	Inputs int `json:"inputs"`
	// Checkpoint is the size of the state an earlier attempt of this
	// native fit or bumps job saved (GET jobs/{id}/checkpoint; a bumps
	// job's is its packed DREAM state), Continue that of the
	// ended fit it continues (GET jobs/{id}/continue); 0: none.
	Checkpoint int64 `json:"checkpoint,omitempty"`
	Continue   int64 `json:"continue,omitempty"`
}

// CheckpointMax is the largest checkpoint a worker may send or fetch
// (PUT/GET /api/v1/worker/jobs/{id}/checkpoint): DREAM's state holds
// every draw kept, and a million draws of ten parameters are some 80 MB.
const CheckpointMax = 1 << 30

// ClaimResponse is the answer to a claim: possibly no jobs.
type ClaimResponse struct {
	Jobs []ClaimedJob `json:"jobs"`
	// Drain says an operator drained this worker: it gets no new jobs
	// until resumed, and should finish the ones it holds.
	Drain bool `json:"drain,omitempty"`
}

// HeartbeatRequest renews a lease (and is the body of a release).
type HeartbeatRequest struct {
	Token    string        `json:"token"`
	Name     string        `json:"name"`
	Progress *job.Progress `json:"progress,omitempty"`
}

// HeartbeatResponse tells the worker whether to stop the job.
type HeartbeatResponse struct {
	Cancel bool `json:"cancel"`
	// Stop asks a running native fit to end early, COMPLETE with what it
	// found (POST /api/v1/jobs/{id}/stop); never with Cancel.
	Stop bool `json:"stop,omitempty"`
	// Drain: as in ClaimResponse.
	Drain bool `json:"drain,omitempty"`
}

// CompleteRequest is the "result" part of a completion.
type CompleteRequest struct {
	Token       string          `json:"token"`
	State       job.State       `json:"state"`
	Reason      string          `json:"reason"`
	Result      json.RawMessage `json:"result,omitempty"`
	Protections []string        `json:"protections,omitempty"`
	// Next, if set, asks for the slot's next job in the answer: one
	// pending job of at most Next.Free CPUs, leased as by a claim (which
	// then needs no request of its own). The answer is a ClaimResponse.
	Next *NextRequest `json:"next,omitempty"`
}

// NextRequest is a claim riding on a completion: jobs fitting Free CPUs,
// at most MaxJobs of them (default one).
type NextRequest struct {
	Name     string   `json:"name"`
	Free     int      `json:"free"`
	MaxJobs  int      `json:"max_jobs,omitempty"`
	Services []string `json:"services,omitempty"`
}

// HeartbeatsRequest renews the leases of several of a worker's jobs in
// one call (POST /api/v1/worker/heartbeats).
type HeartbeatsRequest struct {
	Name string    `json:"name"`
	Jobs []JobBeat `json:"jobs"`
}

// JobBeat is one job's heartbeat in a HeartbeatsRequest.
type JobBeat struct {
	ID       int64         `json:"id"`
	Token    string        `json:"token"`
	Progress *job.Progress `json:"progress,omitempty"`
}

// HeartbeatsResponse answers a HeartbeatsRequest one job for one.
type HeartbeatsResponse struct {
	Jobs []BeatAnswer `json:"jobs"`
	// Drain: as in ClaimResponse.
	Drain bool `json:"drain,omitempty"`
}

// BeatAnswer tells the worker to stop a job (Cancel), to end it early
// with what it found (Stop, as in HeartbeatResponse), that its lease is
// lost (stop and forget it), or that its heartbeat failed (Error: try
// again within the lease).
type BeatAnswer struct {
	ID        int64  `json:"id"`
	Cancel    bool   `json:"cancel,omitempty"`
	Stop      bool   `json:"stop,omitempty"`
	LeaseLost bool   `json:"lease_lost,omitempty"`
	Error     string `json:"error,omitempty"`
}

// InlineOutputMax is the largest output (as a tar stream) a worker sends
// inline with a batched completion; a larger one goes up by itself, as
// the multipart body of POST /api/v1/worker/jobs/{id}/complete, so that
// one big upload does not hold up the other ends.
const InlineOutputMax = 64 << 10

// MaxCompletions is how many ends one CompletionsRequest may report.
const MaxCompletions = 64

// CompletionsRequest reports several ends at once and may lease the
// worker's next jobs in the same call (POST /api/v1/worker/completions).
type CompletionsRequest struct {
	Name string       `json:"name"`
	Jobs []Completion `json:"jobs"`
	// Next, if set, leases jobs for the CPUs these ends free, answered in
	// CompletionsResponse.Next.
	Next *NextRequest `json:"next,omitempty"`
}

// Completion is one end in a CompletionsRequest, with the job's output
// as a tar stream of at most InlineOutputMax bytes (base64 in JSON). A
// job's output/ on the controller becomes what Output holds (nothing, if
// it is empty).
type Completion struct {
	ID          int64           `json:"id"`
	Token       string          `json:"token"`
	State       job.State       `json:"state"`
	Reason      string          `json:"reason"`
	Result      json.RawMessage `json:"result,omitempty"`
	Protections []string        `json:"protections,omitempty"`
	Output      []byte          `json:"output,omitempty"`
}

// CompletionsResponse answers a CompletionsRequest: one answer per end,
// in order, and the jobs leased for Next.
type CompletionsResponse struct {
	Jobs []CompletionAnswer `json:"jobs"`
	Next []ClaimedJob       `json:"next"`
	// Drain: as in ClaimResponse.
	Drain bool `json:"drain,omitempty"`
}

// CompletionAnswer says whether one end was recorded: Status 200, or the
// status and message the single-job route would have answered (409 for a
// lease lost, 400 for output refused, 507 for a full disk).
type CompletionAnswer struct {
	ID     int64  `json:"id"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// WorkerInfo is what the controller knows of one executor
// (GET /api/v1/workers).
type WorkerInfo struct {
	Name          string    `json:"name"`
	User          string    `json:"user"` // the identity whose token it uses
	Slots         int       `json:"slots"`
	Running       int       `json:"running"` // jobs it holds now
	Services      []string  `json:"services,omitempty"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Local         bool      `json:"local,omitempty"`
	// Drained: an operator drained it; it takes no new jobs until resumed.
	Drained      bool       `json:"drained"`
	DrainedSince *time.Time `json:"drained_since,omitempty"`
}

// ReconcileRequest tells the controller which jobs a named worker really
// holds (POST /api/v1/worker/reconcile). Jobs the controller thinks it
// holds beyond those are handed back: after a claim the worker gave up
// on (its answer may have been lost), they go back to PENDING as they
// were; after a restart (Restarted), they count an attempt, as the run
// they had was lost.
type ReconcileRequest struct {
	Name      string  `json:"name"`
	Holding   []int64 `json:"holding"`
	Restarted bool    `json:"restarted"`
}

// ReconcileResponse lists the jobs handed back.
type ReconcileResponse struct {
	Released []int64 `json:"released"`
}
