package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// CreateJob implements store.JobStore.
func (s *Store) CreateJob(ctx context.Context, p *store.CreateJobParams) (*job.Job, error) {
	js, err := s.CreateJobs(ctx, []*store.CreateJobParams{p})
	if err != nil {
		return nil, err
	}
	return js[0], nil
}

// CreateJobs implements store.JobStore: one write, so one commit, for
// the whole batch.
func (s *Store) CreateJobs(ctx context.Context, ps []*store.CreateJobParams) ([]*job.Job, error) {
	js := make([]*job.Job, len(ps))
	err := s.tx(ctx, func(tx *wtx) error {
		for i, p := range ps {
			spec := p.Spec
			if len(spec) == 0 {
				spec = json.RawMessage("{}")
			}
			var id any // NULL: SQLite picks the next id
			if p.ID != 0 {
				id = p.ID
			}
			var err error
			js[i], err = scanJob(tx.QueryRowContext(ctx, `INSERT INTO jobs
				(id, owner, name, service, spec, cpus, priority, state, max_attempts, submitted, capability, disk_bytes, parent, series, held)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?, ?) RETURNING `+jobColumns,
				id, p.Owner, p.Name, p.Service, string(spec), max(p.CPUs, 1), p.Priority, max(p.MaxAttempts, 1), nanos(p.Now), p.Capability, p.DiskBytes,
				nullID(p.Parent), nullString(p.Series), p.Held))
			if err == nil {
				err = insertNotifications(ctx, tx, js[i].ID, p.Notify)
			}
			if err != nil {
				if len(ps) > 1 {
					return fmt.Errorf("jobs[%d]: %w", i, err)
				}
				return err
			}
			for _, g := range p.Groups {
				if _, err := tx.ExecContext(ctx, `INSERT INTO job_groups (job, grp) VALUES (?, ?) ON CONFLICT DO NOTHING`, js[i].ID, g); err != nil {
					return fmt.Errorf("share with group %q: %w", g, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create job: %w", err)
	}
	return js, nil
}

// ReserveJobIDs implements store.JobStore by moving the AUTOINCREMENT
// counter (sqlite_sequence) past the ids handed out: SQLite never gives
// an id at or below it again, even after a restart.
func (s *Store) ReserveJobIDs(ctx context.Context, n int) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve job ids: n must be positive, not %d", n)
	}
	var last int64
	err := s.tx(ctx, func(tx *wtx) error {
		err := tx.QueryRowContext(ctx, `UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(id) FROM jobs), 0)) + ?
			WHERE name = 'jobs' RETURNING seq`, n).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) { // no job was ever inserted
			last = int64(n)
			_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?)`, last)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reserve job ids: %w", err)
	}
	return last - int64(n) + 1, nil
}

// MissingJobs implements store.JobStore with one range scan of ids.
func (s *Store) MissingJobs(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	rows, err := s.readRows(ctx, `SELECT id FROM jobs WHERE id BETWEEN ? AND ?`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("missing jobs: %w", err)
	}
	defer rows.Close()
	have := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("missing jobs: %w", err)
		}
		have[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("missing jobs: %w", err)
	}
	var missing []int64
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// GetJob implements store.JobStore.
func (s *Store) GetJob(ctx context.Context, id int64) (*job.Job, error) {
	j, err := scanJob(s.readRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return j, err
}

// GetJobByCapability implements store.JobStore.
func (s *Store) GetJobByCapability(ctx context.Context, hash []byte) (*job.Job, error) {
	if len(hash) == 0 {
		return nil, store.ErrNotFound
	}
	j, err := scanJob(s.readRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE capability = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return j, err
}

// ListJobs implements store.JobStore.
func (s *Store) ListJobs(ctx context.Context, p *store.ListJobsParams) ([]*job.Job, error) {
	var where []string
	var args []any
	if p.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, p.Owner)
	}
	if p.SharedWith != "" {
		where, args = append(where, sharedWithClause), append(args, p.SharedWith)
	}
	if p.State != "" {
		where, args = append(where, "state = ?"), append(args, string(p.State))
	}
	if p.Service != "" {
		where, args = append(where, "service = ?"), append(args, p.Service)
	}
	if p.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, p.BeforeID)
	}
	order := "id DESC"
	if p.Parent != 0 {
		where, args, order = append(where, "parent = ?"), append(args, p.Parent), "id"
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
	q += " ORDER BY " + order + " LIMIT ?"
	rows, err := s.readRows(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return scanJobs(rows)
}

// CountJobs implements store.JobStore.
func (s *Store) CountJobs(ctx context.Context, owner string) (map[job.State]int, error) {
	q, args := `SELECT state, count(*) FROM jobs GROUP BY state`, []any{}
	if owner != "" {
		q, args = `SELECT state, count(*) FROM jobs WHERE owner = ? GROUP BY state`, []any{owner}
	}
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[job.State]int{}
	for rows.Next() {
		var st job.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// CountQueued implements store.JobStore.
func (s *Store) CountQueued(ctx context.Context, owner string) (int, error) {
	var n int
	err := s.readRow(ctx, `SELECT n FROM pending_counts WHERE owner = ?`, owner).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("count queued: %w", err)
	}
	return n, nil
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Heartbeat implements store.JobStore.
func (s *Store) Heartbeat(ctx context.Context, p *store.HeartbeatParams) (bool, *job.Job, error) {
	rs, err := s.Heartbeats(ctx, []*store.HeartbeatParams{p})
	if err != nil {
		return false, nil, err
	}
	return rs[0].Cancel, rs[0].Job, rs[0].Err
}

// Heartbeats implements store.JobStore.
func (s *Store) Heartbeats(ctx context.Context, ps []*store.HeartbeatParams) ([]store.HeartbeatResult, error) {
	progress := make([]string, len(ps))
	for i, p := range ps {
		if p.Progress == nil {
			continue
		}
		b, err := json.Marshal(p.Progress)
		if err != nil {
			return nil, fmt.Errorf("heartbeat: progress: %w", err)
		}
		progress[i] = string(b)
	}
	out := make([]store.HeartbeatResult, len(ps))
	err := s.tx(ctx, func(tx *wtx) error {
		for i, p := range ps {
			r := &out[i]
			*r = store.HeartbeatResult{}
			r.Cancel, r.Job, r.Err = heartbeat(ctx, tx, p, progress[i])
			if r.Err != nil && r.Err != store.ErrLeaseLost {
				return r.Err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	return out, nil
}

// heartbeat renews one lease; a renewal without progress changes no
// version (watchers have nothing new to see).
func heartbeat(ctx context.Context, tx *wtx, p *store.HeartbeatParams, progress string) (bool, *job.Job, error) {
	const held = ` WHERE id = ? AND state = 'ACTIVE' AND lease_token = ?`
	expires := nanos(p.Now.Add(p.Lease))
	if p.Progress == nil {
		var c int
		err := tx.QueryRowContext(ctx, `UPDATE jobs SET lease_expires = ?`+held+` RETURNING cancel_requested`,
			expires, p.ID, p.Token).Scan(&c)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil, store.ErrLeaseLost
		}
		return c != 0, nil, err
	}
	j, err := scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, lease_expires = ?, progress = ?`+held+
		` RETURNING `+jobColumns, expires, progress, p.ID, p.Token))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil, store.ErrLeaseLost
	}
	if err != nil {
		return false, nil, err
	}
	return j.CancelRequested, j, nil
}

// ReleaseJob implements store.JobStore.
func (s *Store) ReleaseJob(ctx context.Context, id int64, token string) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) (err error) {
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, state = 'PENDING', lease_token = NULL,
			lease_expires = NULL, started = NULL WHERE id = ? AND state = 'ACTIVE' AND lease_token = ? RETURNING `+jobColumns,
			id, token))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrLeaseLost
	}
	if err != nil {
		return nil, fmt.Errorf("release job: %w", err)
	}
	return j, nil
}

// CancelJob implements store.JobStore.
func (s *Store) CancelJob(ctx context.Context, id int64, now time.Time) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, cancelLive+` WHERE id = ? AND state IN ('PENDING', 'ACTIVE') RETURNING `+jobColumns, nanos(now), id))
		if errors.Is(err, sql.ErrNoRows) {
			return finishedOrMissing(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel job %d: %w", id, err)
	}
	return j, nil
}

// DeleteJob implements store.JobStore.
func (s *Store) DeleteJob(ctx context.Context, id int64) error {
	var n int64
	err := s.tx(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete job %d: %w", id, err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// requeue is the expiry rule shared by RequeueExpired and ExpireLease:
// a pending cancel ends the job in CANCEL, a job out of attempts ends in
// ERROR "lost", any other goes back to PENDING for another attempt.
const requeue = `UPDATE jobs SET version = version + 1,
	state = CASE WHEN cancel_requested = 1 THEN 'CANCEL'
	             WHEN attempt >= max_attempts THEN 'ERROR' ELSE 'PENDING' END,
	reason = CASE WHEN cancel_requested = 1 THEN 'cancelled; its executor stopped answering'
	              WHEN attempt >= max_attempts THEN '` + job.ReasonLost + `' ELSE reason END,
	finished = CASE WHEN cancel_requested = 1 OR attempt >= max_attempts THEN ? ELSE NULL END,
	attempt = CASE WHEN cancel_requested = 1 OR attempt >= max_attempts THEN attempt ELSE attempt + 1 END,
	started = CASE WHEN cancel_requested = 1 OR attempt >= max_attempts THEN started ELSE NULL END,
	lease_token = NULL, lease_expires = NULL`

// RequeueExpired implements store.JobStore.
func (s *Store) RequeueExpired(ctx context.Context, now time.Time) ([]*job.Job, error) {
	return s.requeueWhere(ctx, "requeue expired", `lease_expires < ?`, nanos(now), nanos(now))
}

// requeueWhere applies the requeue rule to the ACTIVE jobs matching cond.
func (s *Store) requeueWhere(ctx context.Context, what, cond string, args ...any) ([]*job.Job, error) {
	var js []*job.Job
	err := s.tx(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, requeue+` WHERE state = 'ACTIVE' AND `+cond+` RETURNING `+jobColumns, args...)
		if err != nil {
			return err
		}
		js, err = scanJobs(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return js, nil
}

// ExpireLease implements store.JobStore.
func (s *Store) ExpireLease(ctx context.Context, id int64, token string, now time.Time) (*job.Job, error) {
	js, err := s.requeueWhere(ctx, "expire lease", `id = ? AND lease_token = ?`, nanos(now), id, token)
	if err != nil {
		return nil, err
	}
	if len(js) == 0 {
		return nil, store.ErrLeaseLost
	}
	return js[0], nil
}

// NextLeaseExpiry implements store.JobStore.
func (s *Store) NextLeaseExpiry(ctx context.Context) (time.Time, bool, error) {
	var n sql.NullInt64
	err := s.readRow(ctx, `SELECT min(lease_expires) FROM jobs WHERE state = 'ACTIVE'`).Scan(&n)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next lease expiry: %w", err)
	}
	return fromNanos(n.Int64), n.Valid, nil
}

// HeldBy implements store.JobStore.
func (s *Store) HeldBy(ctx context.Context, holder string) ([]*job.Job, error) {
	rows, err := s.readRows(ctx, `SELECT `+jobColumns+` FROM jobs WHERE state = 'ACTIVE' AND worker = ? ORDER BY id`, holder)
	if err != nil {
		return nil, fmt.Errorf("jobs held by %s: %w", holder, err)
	}
	return scanJobs(rows)
}
