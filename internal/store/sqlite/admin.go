package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// cancelLive is the cancel rule, for CancelJob and CancelOwnerJobs: a
// PENDING job ends in CANCEL at once, an ACTIVE one is marked for its
// executor to stop. Its one argument is the time; WHERE follows.
const cancelLive = `UPDATE jobs SET version = version + 1,
	state = CASE state WHEN 'PENDING' THEN 'CANCEL' ELSE state END,
	finished = CASE state WHEN 'PENDING' THEN ? ELSE finished END,
	reason = CASE state WHEN 'PENDING' THEN 'cancelled before it started' ELSE reason END,
	cancel_requested = 1`

// finishedOrMissing says why a write to a live job id changed nothing:
// ErrNotFound if there is no such job, else ErrFinished.
func finishedOrMissing(ctx context.Context, tx *wtx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return store.ErrFinished
}

// SetDrained implements store.AdminStore.
func (s *Store) SetDrained(ctx context.Context, worker string, drained bool, now time.Time) error {
	err := s.tx(ctx, func(tx *wtx) error {
		var err error
		if drained {
			_, err = tx.ExecContext(ctx, `INSERT INTO drained_workers (name, drained) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
				worker, nanos(now))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM drained_workers WHERE name = ?`, worker)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set drained %s: %w", worker, err)
	}
	return nil
}

// Drained implements store.AdminStore.
func (s *Store) Drained(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.readRows(ctx, `SELECT name, drained FROM drained_workers`)
	if err != nil {
		return nil, fmt.Errorf("drained workers: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			return nil, fmt.Errorf("drained workers: %w", err)
		}
		out[name] = fromNanos(at)
	}
	return out, rows.Err()
}

// RequeueJob implements store.AdminStore.
func (s *Store) RequeueJob(ctx context.Context, id int64, now time.Time) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) (err error) {
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, state = 'PENDING', reason = '',
			attempt = attempt + 1, max_attempts = max(max_attempts, attempt + 1), cancel_requested = 0,
			lease_token = NULL, lease_expires = NULL, progress = NULL, result = NULL, started = NULL, finished = NULL, disk_measured = NULL
			WHERE id = ? AND state != 'PENDING' RETURNING `+jobColumns, id))
		if errors.Is(err, sql.ErrNoRows) {
			j, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("requeue job %d: %w", id, err)
	}
	return j, nil
}

// SetPriority implements store.AdminStore.
func (s *Store) SetPriority(ctx context.Context, id int64, priority int) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) (err error) {
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, priority = ?
			WHERE id = ? AND state IN ('PENDING', 'ACTIVE') RETURNING `+jobColumns, priority, id))
		if errors.Is(err, sql.ErrNoRows) {
			return finishedOrMissing(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set priority of job %d: %w", id, err)
	}
	return j, nil
}

// CancelOwnerJobs implements store.AdminStore, with CancelJob's rule.
func (s *Store) CancelOwnerJobs(ctx context.Context, owner string, now time.Time) ([]*job.Job, error) {
	var js []*job.Job
	err := s.tx(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, cancelLive+` WHERE owner = ? AND state IN ('PENDING', 'ACTIVE') RETURNING `+jobColumns, nanos(now), owner)
		if err != nil {
			return err
		}
		js, err = scanJobs(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel jobs of %s: %w", owner, err)
	}
	slices.SortFunc(js, func(a, b *job.Job) int { return cmp.Compare(a.ID, b.ID) })
	return js, nil
}
