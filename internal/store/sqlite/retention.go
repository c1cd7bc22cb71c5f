package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// SetKeep implements store.RetentionStore.
func (s *Store) SetKeep(ctx context.Context, id int64, keep bool) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) (err error) {
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, keep = ? WHERE id = ? RETURNING `+jobColumns,
			keep, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("keep job %d: %w", id, err)
	}
	return j, nil
}

// ExpiredJobs implements store.RetentionStore (index jobs_retention).
func (s *Store) ExpiredJobs(ctx context.Context, p *store.ExpiredJobsParams) ([]int64, error) {
	rows, err := s.readRows(ctx, `SELECT id FROM jobs WHERE state = ? AND keep = 0 AND finished < ?
		ORDER BY finished LIMIT ?`, string(p.State), nanos(p.Before), max(p.Limit, 1))
	if err != nil {
		return nil, fmt.Errorf("expired jobs: %w", err)
	}
	return scanIDs(rows)
}

// UnmeasuredJobs implements store.RetentionStore (index jobs_unmeasured).
func (s *Store) UnmeasuredJobs(ctx context.Context, limit int) ([]int64, error) {
	rows, err := s.readRows(ctx, `SELECT id FROM jobs
		WHERE disk_measured IS NULL AND state IN ('COMPLETE', 'ERROR', 'CANCEL') ORDER BY id LIMIT ?`, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("unmeasured jobs: %w", err)
	}
	return scanIDs(rows)
}

func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RecordDisk implements store.RetentionStore. The size changes no
// version: watchers have nothing new to see in it.
func (s *Store) RecordDisk(ctx context.Context, ms []store.DiskSize, now time.Time) error {
	err := s.tx(ctx, func(tx *wtx) error {
		for _, m := range ms {
			_, err := tx.ExecContext(ctx, `UPDATE jobs SET disk_bytes = ?, disk_measured = ?
				WHERE id = ? AND state IN ('COMPLETE', 'ERROR', 'CANCEL')`, m.Bytes, nanos(now), m.ID)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record disk: %w", err)
	}
	return nil
}

// Usage implements store.RetentionStore: the disk from disk_totals, the
// CPU from the ledger.
func (s *Store) Usage(ctx context.Context, p *store.UsageParams) ([]*store.OwnerUsage, error) {
	sums := store.UsageSums{}
	// Spelled out per case, so that one owner's sums read only its
	// part of the indexes.
	jobsQ, ledgerQ := `SELECT owner, jobs, bytes FROM disk_totals WHERE jobs > 0`,
		`SELECT owner, count(*), coalesce(sum(cpu_seconds), 0) FROM accounting WHERE finished >= ? GROUP BY owner`
	args := []any{}
	if p.Owner != "" {
		jobsQ = `SELECT owner, jobs, bytes FROM disk_totals WHERE owner = ? AND jobs > 0`
		ledgerQ = `SELECT owner, count(*), coalesce(sum(cpu_seconds), 0) FROM accounting WHERE owner = ? AND finished >= ? GROUP BY owner`
		args = append(args, p.Owner)
	}
	rows, err := s.readRows(ctx, jobsQ, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	err = eachRow(rows, func() error {
		var owner string
		var n int
		var bytes int64
		if err := rows.Scan(&owner, &n, &bytes); err != nil {
			return err
		}
		u := sums.Of(owner)
		u.Jobs, u.DiskBytes = n, bytes
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	since := int64(math.MinInt64) // the zero time has no Unix nanoseconds
	if !p.Since.IsZero() {
		since = nanos(p.Since)
	}
	rows, err = s.readRows(ctx, ledgerQ, append(args, since)...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	err = eachRow(rows, func() error {
		var owner string
		var n int
		var cpu float64
		if err := rows.Scan(&owner, &n, &cpu); err != nil {
			return err
		}
		u := sums.Of(owner)
		u.Runs, u.CPUSeconds = n, cpu
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	return sums.Sorted(), nil
}

// eachRow calls fn for every row, then closes rows.
func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
