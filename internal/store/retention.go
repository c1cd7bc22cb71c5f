package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// RetentionStore holds what retention and accounting need: pins, the
// finished jobs old enough to go, the size of each job's directory, and
// per-user sums of CPU time and disk.
//
// CPU time is kept in a ledger of its own (one row per finished run, by
// owner), which outlives the jobs it counts: deleting a job, by hand or
// by the cleaner, frees its disk but does not erase what it used. A
// per-group sum is then a join of that ledger's owner with group
// membership.
type RetentionStore interface {
	// SetKeep pins a job (keep) so the retention cleaner leaves it, or
	// unpins it; ErrNotFound for no such job.
	SetKeep(ctx context.Context, id int64, keep bool) (*job.Job, error)
	// ExpiredJobs lists up to p.Limit unpinned jobs in p.State (a
	// terminal state) that finished before p.Before, oldest first.
	ExpiredJobs(ctx context.Context, p *ExpiredJobsParams) ([]int64, error)
	// UnmeasuredJobs lists up to limit finished jobs whose directory has
	// not been measured since they finished, lowest id first.
	UnmeasuredJobs(ctx context.Context, limit int) ([]int64, error)
	// RecordDisk records the measured size of finished jobs' directories
	// (a job deleted or requeued meanwhile is left alone).
	RecordDisk(ctx context.Context, ms []DiskSize, now time.Time) error
	// Usage sums, per owner, the CPU time of runs that finished at or
	// after p.Since and the disk their jobs hold now; p.Owner "" means
	// every owner. Owners are sorted by name.
	Usage(ctx context.Context, p *UsageParams) ([]*OwnerUsage, error)
}

// ExpiredJobsParams selects jobs for the retention cleaner.
type ExpiredJobsParams struct {
	State  job.State
	Before time.Time
	Limit  int
}

// DiskSize is one job directory's measured size.
type DiskSize struct {
	ID    int64
	Bytes int64
}

// UsageParams selects an accounting period and owner.
type UsageParams struct {
	Owner string    // "" = every owner
	Since time.Time // zero = since the beginning
}

// OwnerUsage is one owner's accounting.
type OwnerUsage struct {
	Owner string `json:"user"`
	// Runs is how many runs finished in the period, CPUSeconds what they
	// were charged (job.ChargedCPUSeconds).
	Runs       int     `json:"runs"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// Jobs is how many jobs the owner has now, DiskBytes what their
	// directories hold (uploads, and every file once measured).
	Jobs      int   `json:"jobs"`
	DiskBytes int64 `json:"disk_bytes"`
}

// UsageSums gathers an engine's per-owner sums as it reads them.
type UsageSums map[string]*OwnerUsage

// Of is owner's line, made on first use.
func (m UsageSums) Of(owner string) *OwnerUsage {
	u := m[owner]
	if u == nil {
		u = &OwnerUsage{Owner: owner}
		m[owner] = u
	}
	return u
}

// Sorted lists the lines by owner.
func (m UsageSums) Sorted() []*OwnerUsage {
	out := make([]*OwnerUsage, 0, len(m))
	for _, u := range m {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *OwnerUsage) int { return strings.Compare(a.Owner, b.Owner) })
	return out
}
