package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// SetKeep implements store.RetentionStore.
func (s *Store) SetKeep(ctx context.Context, id int64, keep bool) (*job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET version = version + 1, keep = $1 WHERE id = $2 RETURNING `+jobColumns,
		keep, id))
	if err = s.check(err, store.ErrNotFound); err != nil {
		return nil, fmt.Errorf("keep job %d: %w", id, err)
	}
	return j, nil
}

// ExpiredJobs implements store.RetentionStore (index jobs_retention).
func (s *Store) ExpiredJobs(ctx context.Context, p *store.ExpiredJobsParams) ([]int64, error) {
	ids, err := s.ids(ctx, `SELECT id FROM jobs WHERE state = $1 AND NOT keep AND finished < $2
		ORDER BY finished LIMIT $3`, string(p.State), p.Before, max(p.Limit, 1))
	if err != nil {
		return nil, fmt.Errorf("expired jobs: %w", err)
	}
	return ids, nil
}

// UnmeasuredJobs implements store.RetentionStore (index jobs_unmeasured).
func (s *Store) UnmeasuredJobs(ctx context.Context, limit int) ([]int64, error) {
	ids, err := s.ids(ctx, `SELECT id FROM jobs
		WHERE disk_measured IS NULL AND state IN ('COMPLETE', 'ERROR', 'CANCEL') ORDER BY id LIMIT $1`, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("unmeasured jobs: %w", err)
	}
	return ids, nil
}

func (s *Store) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err = s.check(err, nil); err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, s.check(err, nil)
}

// RecordDisk implements store.RetentionStore. The size changes no
// version: watchers have nothing new to see in it.
func (s *Store) RecordDisk(ctx context.Context, ms []store.DiskSize, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, m := range ms {
			b.Queue(`UPDATE jobs SET disk_bytes = $1, disk_measured = $2
				WHERE id = $3 AND state IN ('COMPLETE', 'ERROR', 'CANCEL')`, m.Bytes, now, m.ID)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("record disk: %w", err)
	}
	return nil
}

// Usage implements store.RetentionStore: the disk from disk_totals, the
// CPU from the ledger.
func (s *Store) Usage(ctx context.Context, p *store.UsageParams) ([]*store.OwnerUsage, error) {
	sums := store.UsageSums{}
	rows, err := s.pool.Query(ctx, `SELECT owner, jobs, bytes FROM disk_totals
		WHERE jobs > 0 AND ($1 = '' OR owner = $1)`, p.Owner)
	if err == nil {
		var owner string
		var n int
		var bytes int64
		_, err = pgx.ForEachRow(rows, []any{&owner, &n, &bytes}, func() error {
			u := sums.Of(owner)
			u.Jobs, u.DiskBytes = n, bytes
			return nil
		})
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT owner, count(*), coalesce(sum(cpu_seconds), 0) FROM accounting
		WHERE finished >= $1 AND ($2 = '' OR owner = $2) GROUP BY owner`, p.Since, p.Owner)
	if err == nil {
		var owner string
		var n int
		var cpu float64
		_, err = pgx.ForEachRow(rows, []any{&owner, &n, &cpu}, func() error {
			u := sums.Of(owner)
			u.Runs, u.CPUSeconds = n, cpu
			return nil
		})
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	return sums.Sorted(), nil
}
