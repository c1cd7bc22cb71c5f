// Package job defines a bumpserve job: its states, the transitions between
// them, and the small value types (progress, resources, limits) that travel
// with it between the store, the queue, the executors and the HTTP API.
package job

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is where a job is in its life.
type State string

// The job states. PENDING and ACTIVE are live; the rest are terminal and final.
const (
	Pending  State = "PENDING"
	Active   State = "ACTIVE"
	Complete State = "COMPLETE"
	Error    State = "ERROR"
	Cancel   State = "CANCEL"
)

// States lists every state in life order, for validation and reports.
var States = []State{Pending, Active, Complete, Error, Cancel}

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return s == Complete || s == Error || s == Cancel }

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// ParseState accepts a state name in any letter case.
func ParseState(s string) (State, error) {
	st := State(upper(s))
	if !st.Valid() {
		return "", fmt.Errorf("unknown state %q (accepted: PENDING, ACTIVE, COMPLETE, ERROR, CANCEL)", s)
	}
	return st, nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// ReasonLost is the reason of a job whose executors kept disappearing.
const ReasonLost = "lost"

// Job is one submitted piece of work and everything known about it.
type Job struct {
	ID              int64           `json:"id"`
	Name            string          `json:"name"`
	Owner           string          `json:"owner"`
	Service         string          `json:"service"`
	Spec            json.RawMessage `json:"spec,omitempty"`
	CPUs            int             `json:"cpus"`
	Priority        int             `json:"priority"`
	State           State           `json:"state"`
	Reason          string          `json:"reason"`
	Attempt         int             `json:"attempt"`
	MaxAttempts     int             `json:"max_attempts"`
	Worker          string          `json:"worker"`
	CancelRequested bool            `json:"cancel_requested"`
	Progress        *Progress       `json:"progress,omitempty"`
	Result          json.RawMessage `json:"-"`
	Protections     []string        `json:"protections,omitempty"`
	// Groups the job is shared with (read-only for their members). Filled
	// in where one job is shown (GET /api/v1/jobs/{id}, its page), not in
	// listings.
	Groups []string `json:"groups,omitempty"`
	// Version counts the job's changes: of two snapshots of one job, the
	// one with the higher version is the newer.
	Version   int64      `json:"version"`
	Submitted time.Time  `json:"submitted"`
	Started   *time.Time `json:"started"`
	Finished  *time.Time `json:"finished"`
	// Lease is held by the executor running the job; never shown to users.
	Lease *Lease `json:"-"`
	// WorkerUser is the identity whose token claimed the job ("" for the
	// server's own slots).
	WorkerUser string `json:"-"`
	// Parent is the series parent of a child job (0 for other jobs).
	Parent int64 `json:"parent,omitempty"`
	// Series is set on a series parent.
	Series *Series `json:"series,omitempty"`
	// Held keeps a PENDING job from being claimed: a series parent
	// always, a chained child until the fit before it ends.
	Held bool `json:"held,omitempty"`
	// Deleted marks the last snapshot of a job, published when it is
	// deleted: watchers learn of it at once rather than at their next
	// look at the store.
	Deleted bool `json:"deleted,omitempty"`
	// Keep pins a finished job: the retention cleaner leaves it (and its
	// files) however old it is.
	Keep bool `json:"keep"`
	// DiskBytes is what the job's directory holds: its uploads from
	// submission, all its files once the cleaner has measured it after
	// it finished.
	DiskBytes int64 `json:"disk_bytes"`
	// CPUSeconds is what its last run is charged: CPUs held × wall time
	// (see ChargedCPUSeconds); 0 until it has run.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// ChargedCPUSeconds is what a run is charged in accounting and fair
// share: the CPUs it held for as long as it held them, as a batch system
// bills an allocation (the same whether its processes used them or not).
func ChargedCPUSeconds(cpus int, started, finished *time.Time) float64 {
	if started == nil || finished == nil || !finished.After(*started) {
		return 0
	}
	return float64(max(cpus, 1)) * finished.Sub(*started).Seconds()
}

// Lease is an executor's time-limited claim on an ACTIVE job. The token
// proves which claim a heartbeat or result belongs to, so a result from an
// expired claim can be refused.
type Lease struct {
	Holder  string
	Token   string
	Expires time.Time
}

// Progress is what a running job last said about itself.
type Progress struct {
	Step    int                `json:"step"`
	Cost    *float64           `json:"cost,omitempty"`
	Params  map[string]float64 `json:"params,omitempty"`
	Message string             `json:"message,omitempty"`
	Updated time.Time          `json:"updated"`
}
