// Package store is the seam between bumpserve and its database. The Store
// interface has one method per operation; each engine (sqlite, later
// postgres) is its own package, and every engine must pass the shared
// conformance suite in storetest. Every job transition is one transaction;
// the batch methods (CreateJobs, Heartbeats, FinishJobs) put several in
// one. No method runs a caller's code inside a transaction: file-system
// work happens before or after, so a slow disk never holds up the writer.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Errors every engine translates its own into.
var (
	// ErrNotFound: no such job, user or token.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost: the lease a heartbeat or result names is no longer held
	// (expired, requeued, cancelled or finished). The caller must stop.
	// It is job.ErrLeaseLost, the one lease-lost error every executor
	// tests for.
	ErrLeaseLost = job.ErrLeaseLost
	// ErrFinished: the job is already in a terminal state.
	ErrFinished = errors.New("job already finished")
	// ErrExists: a user or token with that name exists.
	ErrExists = errors.New("already exists")
)

// Store is everything bumpserve keeps durably.
type Store interface {
	JobStore
	UserStore
	GroupStore // groups.go
	Close() error
}

// JobStore holds jobs and runs their transitions.
type JobStore interface {
	AdminStore     // the operators' writes (admin.go)
	RetentionStore // pins, expiry and accounting (retention.go)
	AdminStore     // the operators' writes (admin.go)
	NotifyStore    // notifications when jobs end (notify.go)
	// CreateJob inserts a PENDING job.
	CreateJob(ctx context.Context, p *CreateJobParams) (*job.Job, error)
	// CreateJobs inserts PENDING jobs in one transaction: all of them or,
	// with an error, none.
	CreateJobs(ctx context.Context, ps []*CreateJobParams) ([]*job.Job, error)
	// ReserveJobIDs sets aside n job ids, first to first+n-1, that no other
	// job will be given, for a CreateJobParams.ID: the caller can put a
	// job's files in place under its id before the job exists, outside
	// any transaction.
	ReserveJobIDs(ctx context.Context, n int) (first int64, err error)
	// MissingJobs returns those of ids that name no job (to sweep job
	// directories a crash left without a row).
	MissingJobs(ctx context.Context, ids []int64) ([]int64, error)
	GetJob(ctx context.Context, id int64) (*job.Job, error)
	// GetJobByCapability finds the job created with this capability hash.
	GetJobByCapability(ctx context.Context, hash []byte) (*job.Job, error)
	ListJobs(ctx context.Context, p *ListJobsParams) ([]*job.Job, error)
	// CountJobs counts jobs per state (for metrics and quotas); owner "" means all.
	CountJobs(ctx context.Context, owner string) (map[job.State]int, error)
	// CountQueued counts one owner's PENDING jobs (the queue quota).
	CountQueued(ctx context.Context, owner string) (int, error)

	// ClaimJobs moves up to p.Max PENDING jobs whose CPUs fit in p.FreeCPUs
	// to ACTIVE under new leases held by p.Worker.
	ClaimJobs(ctx context.Context, p *ClaimParams) ([]*job.Job, error)
	// Heartbeat renews a lease and records progress. It returns whether a
	// cancel was requested, or ErrLeaseLost; with progress, also the job
	// as updated, for watchers.
	Heartbeat(ctx context.Context, p *HeartbeatParams) (cancel bool, updated *job.Job, err error)
	// Heartbeats renews several leases in one transaction; each item
	// succeeds or fails (ErrLeaseLost) on its own. The results are in the
	// order of ps; the error is for the batch as a whole.
	Heartbeats(ctx context.Context, ps []*HeartbeatParams) ([]HeartbeatResult, error)
	// FinishJob moves an ACTIVE job held under p.Token to a terminal state,
	// or ErrLeaseLost.
	FinishJob(ctx context.Context, p *FinishParams) (*job.Job, error)
	// FinishJobs ends several jobs in one transaction; each item succeeds
	// or fails (ErrLeaseLost) on its own, results in the order of ps.
	FinishJobs(ctx context.Context, ps []*FinishParams) ([]FinishResult, error)
	// ReleaseJob hands an ACTIVE job back to PENDING without counting an
	// attempt (a draining executor), or ErrLeaseLost.
	ReleaseJob(ctx context.Context, id int64, token string) (*job.Job, error)
	// CancelJob ends a PENDING job in CANCEL, or marks an ACTIVE one for its
	// executor to stop; ErrFinished for a terminal one.
	CancelJob(ctx context.Context, id int64, now time.Time) (*job.Job, error)
	DeleteJob(ctx context.Context, id int64) error
	// RequeueExpired handles every ACTIVE job whose lease ended before now:
	// back to PENDING with attempt+1, ERROR "lost" past max attempts, or
	// CANCEL if a cancel was pending.
	RequeueExpired(ctx context.Context, now time.Time) ([]*job.Job, error)
	// ExpireLease applies the expiry rule to one job now, if it is still
	// held under token (an executor reports it lost the run), or
	// ErrLeaseLost.
	ExpireLease(ctx context.Context, id int64, token string, now time.Time) (*job.Job, error)
	// NextLeaseExpiry is the earliest lease end among ACTIVE jobs.
	NextLeaseExpiry(ctx context.Context) (time.Time, bool, error)
	// HeldBy lists the ACTIVE jobs one executor holds.
	HeldBy(ctx context.Context, holder string) ([]*job.Job, error)
	// ReleaseHeld makes a held PENDING job claimable, its spec replaced
	// by spec if that is not nil (a chained fit's start values); it
	// returns the job, or ErrFinished if the job is no longer held
	// (released already, cancelled, or not held at all).
	ReleaseHeld(ctx context.Context, id int64, spec json.RawMessage) (*job.Job, error)
	// EndHeld moves a held PENDING job (a series parent whose children
	// all ended) to a terminal state, or ErrFinished if it is no longer
	// held and pending.
	EndHeld(ctx context.Context, p *EndHeldParams) (*job.Job, error)
}

// EndHeldParams ends a held job.
type EndHeldParams struct {
	ID     int64
	State  job.State
	Reason string
	Result json.RawMessage
	Now    time.Time
}

// CreateJobParams describes a new job.
type CreateJobParams struct {
	// ID, if not 0, is an id from ReserveJobIDs; 0 lets the store pick.
	ID          int64
	Owner       string
	Name        string
	Service     string
	Spec        json.RawMessage
	CPUs        int
	Priority    int
	MaxAttempts int
	Now         time.Time
	// Capability, if set, is the hash of a secret that reaches this job
	// without a token (anonymous mode).
	Capability []byte
	// DiskBytes is the size of the files uploaded with it.
	DiskBytes int64
	// Notify lists who to tell when the job ends, stored with the job.
	Notify []job.Target
	// Groups the job is shared with from the start, in the transaction
	// that creates it (the caller has checked the owner belongs to them).
	Groups []string
	// Parent is a series child's parent id; Series is a parent's series
	// JSON (job.Series); Held keeps the job from being claimed until
	// ReleaseHeld.
	Parent int64
	Series json.RawMessage
	Held   bool
}

// ListJobsParams filters and pages a job listing, newest first.
type ListJobsParams struct {
	Owner string // "" = every owner
	// SharedWith, if set, keeps only the jobs shared with a group this
	// user belongs to.
	SharedWith string
	State      job.State
	Service    string
	BeforeID   int64 // page cursor: only ids below this; 0 = from the newest
	Limit      int
	// Parent, if not 0, lists that series parent's children only, in
	// series order (oldest first).
	Parent int64
	// LiveParents lists only series parents still waiting on children.
	LiveParents bool
}

// UsageScale is how many CPU-seconds of past use weigh in fair share as
// much as one CPU running now.
const UsageScale = 3600

// ClaimParams asks for work.
type ClaimParams struct {
	Worker     string   // the executor's name, recorded as the job's worker
	WorkerUser string   // the identity whose token claims ("" for local slots)
	Services   []string // nil = any service
	FreeCPUs   int
	Max        int
	Lease      time.Duration
	Now        time.Time
	// Fair share: owners are served in order of their share score, the
	// CPUs they have running plus their past CPU-seconds decayed with
	// HalfLife and divided by UsageScale; then priority, then age.
	HalfLife time.Duration
	// MaxRunning caps one owner's ACTIVE jobs; 0 = no cap.
	MaxRunning int
}

// HeartbeatParams renews a lease.
type HeartbeatParams struct {
	ID       int64
	Token    string
	Progress *job.Progress // nil = unchanged
	Lease    time.Duration
	Now      time.Time
}

// FinishParams ends a job.
type FinishParams struct {
	ID          int64
	Token       string
	State       job.State
	Reason      string
	Result      json.RawMessage
	Protections []string
	Now         time.Time
	// HalfLife decays the owner's recorded usage (see ClaimParams).
	HalfLife time.Duration
}

// HeartbeatResult is one item of Heartbeats: as Heartbeat returns.
type HeartbeatResult struct {
	Cancel bool
	Job    *job.Job // the job as updated, when the heartbeat carried progress
	Err    error    // ErrLeaseLost or nil
}

// FinishResult is one item of FinishJobs.
type FinishResult struct {
	Job *job.Job
	Err error // ErrLeaseLost or nil
}
