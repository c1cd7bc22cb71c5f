package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The operators' writes (store.AdminStore), with the same rules as the
// SQLite engine's; storetest's Admin suite holds both to them.

// finishedOrMissing says why a write to a live job id changed nothing:
// ErrNotFound if there is no such job, else ErrFinished.
func finishedOrMissing(ctx context.Context, q pgx.Tx, id int64) error {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	return store.ErrFinished
}

// SetDrained implements store.AdminStore.
func (s *Store) SetDrained(ctx context.Context, worker string, drained bool, now time.Time) error {
	var err error
	if drained {
		_, err = s.pool.Exec(ctx, `INSERT INTO drained_workers (name, drained) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, worker, now)
	} else {
		_, err = s.pool.Exec(ctx, `DELETE FROM drained_workers WHERE name = $1`, worker)
	}
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("set drained %s: %w", worker, err)
	}
	return nil
}

// Drained implements store.AdminStore.
func (s *Store) Drained(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, drained FROM drained_workers`)
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("drained workers: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var at time.Time
		if err := rows.Scan(&name, &at); err != nil {
			return nil, fmt.Errorf("drained workers: %w", err)
		}
		out[name] = at
	}
	return out, s.check(rows.Err(), nil)
}

// RequeueJob implements store.AdminStore.
func (s *Store) RequeueJob(ctx context.Context, id int64, now time.Time) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx pgx.Tx) (err error) {
		j, err = scanJob(tx.QueryRow(ctx, `UPDATE jobs SET version = version + 1, state = 'PENDING', reason = '',
			attempt = attempt + 1, max_attempts = greatest(max_attempts, attempt + 1), cancel_requested = false,
			lease_token = NULL, lease_expires = NULL, progress = NULL, result = NULL, started = NULL, finished = NULL, disk_measured = NULL
			WHERE id = $1 AND state <> 'PENDING' RETURNING `+jobColumns, id))
		if errors.Is(err, pgx.ErrNoRows) {
			j, err = scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
		}
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("requeue job %d: %w", id, err)
	}
	return j, nil
}

// SetPriority implements store.AdminStore.
func (s *Store) SetPriority(ctx context.Context, id int64, priority int) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx pgx.Tx) (err error) {
		j, err = scanJob(tx.QueryRow(ctx, `UPDATE jobs SET version = version + 1, priority = $2
			WHERE id = $1 AND state IN ('PENDING', 'ACTIVE') RETURNING `+jobColumns, id, priority))
		if errors.Is(err, pgx.ErrNoRows) {
			return finishedOrMissing(ctx, tx, id)
		}
		return err
	})
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("set priority of job %d: %w", id, err)
	}
	return j, nil
}

// CancelOwnerJobs implements store.AdminStore, with CancelJob's rule.
func (s *Store) CancelOwnerJobs(ctx context.Context, owner string, now time.Time) ([]*job.Job, error) {
	js, err := scanJobs(s.pool.Query(ctx, `WITH cancelled AS (UPDATE jobs SET version = version + 1,
		state = CASE state WHEN 'PENDING' THEN 'CANCEL' ELSE state END,
		finished = CASE state WHEN 'PENDING' THEN $2::timestamptz ELSE finished END,
		reason = CASE state WHEN 'PENDING' THEN 'cancelled before it started' ELSE reason END,
		cancel_requested = true
		WHERE owner = $1 AND state IN ('PENDING', 'ACTIVE') RETURNING `+jobColumns+`)
		SELECT `+jobColumns+` FROM cancelled ORDER BY id`, owner, now))
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("cancel jobs of %s: %w", owner, err)
	}
	return js, nil
}
