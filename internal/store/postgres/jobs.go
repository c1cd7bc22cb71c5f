package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// tx runs fn in a transaction. Every write goes through here (batch
// operations too: one transaction, fn looping over the batch).
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// GetJob implements store.JobStore.
func (s *Store) GetJob(ctx context.Context, id int64) (*job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	return j, s.check(err, store.ErrNotFound)
}

// GetJobByCapability implements store.JobStore.
func (s *Store) GetJobByCapability(ctx context.Context, hash []byte) (*job.Job, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE capability = $1`, hash))
	return j, s.check(err, store.ErrNotFound)
}

// ListJobs implements store.JobStore.
func (s *Store) ListJobs(ctx context.Context, p *store.ListJobsParams) ([]*job.Job, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if p.Owner != "" {
		add("owner =", p.Owner)
	}
	if p.SharedWith != "" {
		add("id IN (SELECT j.job FROM job_groups j JOIN group_members m ON m.grp = j.grp WHERE m.user_name =", p.SharedWith)
		where[len(where)-1] += ")"
	}
	if p.State != "" {
		add("state =", string(p.State))
	}
	if p.Service != "" {
		add("service =", p.Service)
	}
	if p.BeforeID > 0 {
		add("id <", p.BeforeID)
	}
	order := "id DESC"
	if p.Parent != 0 {
		add("parent =", p.Parent)
		order = "id"
	}
	if p.LiveParents {
		where = append(where, "series IS NOT NULL AND state = 'PENDING'")
	}
	q := `SELECT ` + jobColumns + ` FROM jobs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	js, err := scanJobs(s.pool.Query(ctx, q+" ORDER BY "+order+" LIMIT $"+strconv.Itoa(len(args)), args...))
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return js, nil
}

// CountJobs implements store.JobStore.
func (s *Store) CountJobs(ctx context.Context, owner string) (map[job.State]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM jobs WHERE $1 = '' OR owner = $1 GROUP BY state`, owner)
	out := map[job.State]int{}
	if err == nil {
		var st string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[job.State(st)] = n; return nil })
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// CountQueued implements store.JobStore.
func (s *Store) CountQueued(ctx context.Context, owner string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE owner = $1 AND state = 'PENDING'`, owner).Scan(&n)
	if err = s.check(err, nil); err != nil {
		return 0, fmt.Errorf("count queued: %w", err)
	}
	return n, nil
}

// ReleaseJob implements store.JobStore.
func (s *Store) ReleaseJob(ctx context.Context, id int64, token string) (*job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET version = version + 1, state = 'PENDING', lease_token = NULL,
		lease_expires = NULL, started = NULL`+held+` RETURNING `+jobColumns, id, token))
	if err = s.check(err, store.ErrLeaseLost); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			return nil, err
		}
		return nil, fmt.Errorf("release job: %w", err)
	}
	return j, nil
}

// CancelJob implements store.JobStore.
func (s *Store) CancelJob(ctx context.Context, id int64, now time.Time) (*job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET version = version + 1,
		state = CASE state WHEN 'PENDING' THEN 'CANCEL' ELSE state END,
		finished = CASE state WHEN 'PENDING' THEN $2::timestamptz ELSE finished END,
		reason = CASE state WHEN 'PENDING' THEN 'cancelled before it started' ELSE reason END,
		cancel_requested = true
		WHERE id = $1 AND state IN ('PENDING', 'ACTIVE') RETURNING `+jobColumns, id, now))
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)`, id).Scan(&exists)
		if err == nil {
			err = store.ErrNotFound
			if exists {
				err = store.ErrFinished
			}
		}
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("cancel job %d: %w", id, err)
	}
	return j, nil
}

// DeleteJob implements store.JobStore.
func (s *Store) DeleteJob(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, id)
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("delete job %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// requeue is the expiry rule shared by RequeueExpired and ExpireLease:
// a pending cancel ends the job in CANCEL, a job out of attempts ends in
// ERROR "lost", any other goes back to PENDING for another attempt. $1
// is the time now.
const requeue = `UPDATE jobs SET version = version + 1,
	state = CASE WHEN cancel_requested THEN 'CANCEL'
	             WHEN attempt >= max_attempts THEN 'ERROR' ELSE 'PENDING' END,
	reason = CASE WHEN cancel_requested THEN 'cancelled; its executor stopped answering'
	              WHEN attempt >= max_attempts THEN '` + job.ReasonLost + `' ELSE reason END,
	finished = CASE WHEN cancel_requested OR attempt >= max_attempts THEN $1::timestamptz ELSE NULL END,
	attempt = CASE WHEN cancel_requested OR attempt >= max_attempts THEN attempt ELSE attempt + 1 END,
	started = CASE WHEN cancel_requested OR attempt >= max_attempts THEN started ELSE NULL END,
	lease_token = NULL, lease_expires = NULL WHERE state = 'ACTIVE' AND `

// RequeueExpired implements store.JobStore.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) ([]*job.Job, error) {
	js, err := scanJobs(s.pool.Query(ctx, requeue+`lease_expires < $1 RETURNING `+jobColumns, now))
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("requeue expired: %w", err)
	}
	return js, nil
}

// ExpireLease implements store.JobStore.
func (s *Store) ExpireLease(ctx context.Context, id int64, token string, now time.Time) (*job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, requeue+`id = $2 AND lease_token = $3 RETURNING `+jobColumns, now, id, token))
	if err = s.check(err, store.ErrLeaseLost); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			return nil, err
		}
		return nil, fmt.Errorf("expire lease: %w", err)
	}
	return j, nil
}

// NextLeaseExpiry implements store.JobStore.
func (s *Store) NextLeaseExpiry(ctx context.Context) (time.Time, bool, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min(lease_expires) FROM jobs WHERE state = 'ACTIVE'`).Scan(&t)
	if err = s.check(err, nil); err != nil {
		return time.Time{}, false, fmt.Errorf("next lease expiry: %w", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

// HeldBy implements store.JobStore.
func (s *Store) HeldBy(ctx context.Context, holder string) ([]*job.Job, error) {
	js, err := scanJobs(s.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE state = 'ACTIVE' AND worker = $1 ORDER BY id`, holder))
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("jobs held by %s: %w", holder, err)
	}
	return js, nil
}
