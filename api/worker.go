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
}

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

// NextRequest is a claim for one job riding on a completion.
type NextRequest struct {
	Name     string   `json:"name"`
	Free     int      `json:"free"`
	Services []string `json:"services,omitempty"`
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
