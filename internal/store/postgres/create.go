package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Job ids come from the identity sequence of jobs.id. ReserveJobIDs must
// hand out a contiguous range, which takes two sequence calls (nextval,
// then setval past the range); a nextval by a concurrent insert between
// the two would fall inside the range. So whatever draws from the
// sequence holds idsLock: inserts that let the store pick hold it shared
// (they do not wait for each other), a reservation holds it exclusive
// for its two calls.
const idsLock = `hashtext('bumpserve'), hashtext(current_schema() || ':job-ids')`

// CreateJob implements store.JobStore.
func (s *Store) CreateJob(ctx context.Context, p *store.CreateJobParams) (*job.Job, error) {
	js, err := s.CreateJobs(ctx, []*store.CreateJobParams{p})
	if err != nil {
		return nil, err
	}
	return js[0], nil
}

// CreateJobs implements store.JobStore: one transaction, its inserts
// sent together (one round trip for the batch).
func (s *Store) CreateJobs(ctx context.Context, ps []*store.CreateJobParams) ([]*job.Job, error) {
	js := make([]*job.Job, len(ps))
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var b pgx.Batch
		if slices.ContainsFunc(ps, func(p *store.CreateJobParams) bool { return p.ID == 0 }) {
			b.Queue(`SELECT pg_advisory_xact_lock_shared(` + idsLock + `)`)
		}
		for _, p := range ps {
			spec := p.Spec
			if len(spec) == 0 {
				spec = json.RawMessage("{}")
			}
			var id *int64 // NULL: the sequence picks
			if p.ID != 0 {
				id = &p.ID
			}
			b.Queue(`INSERT INTO jobs
				(id, owner, name, service, spec, cpus, priority, state, max_attempts, submitted, capability, disk_bytes, parent, series, held)
				VALUES (coalesce($1, nextval(pg_get_serial_sequence('jobs', 'id'))), $2, $3, $4, $5, $6, $7, 'PENDING', $8, $9, $10, $11, $12, $13, $14)
				RETURNING `+jobColumns,
				id, p.Owner, p.Name, p.Service, string(spec), max(p.CPUs, 1), p.Priority, max(p.MaxAttempts, 1), p.Now, p.Capability, p.DiskBytes,
				nullID(p.Parent), text(p.Series), p.Held)
		}
		br := tx.SendBatch(ctx, &b)
		defer br.Close()
		if len(b.QueuedQueries) > len(ps) {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		for i := range ps {
			var err error
			if js[i], err = scanJob(br.QueryRow()); err != nil {
				if len(ps) > 1 {
					return fmt.Errorf("jobs[%d]: %w", i, err)
				}
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		for i, p := range ps {
			if len(p.Groups) == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO job_groups (job, grp) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
				js[i].ID, p.Groups); err != nil {
				return fmt.Errorf("share job %d: %w", js[i].ID, err)
			}
		}
		return insertNotifications(ctx, tx, ps, js)
	})
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("create job: %w", err)
	}
	return js, nil
}

// ReserveJobIDs implements store.JobStore: the range is taken from the
// jobs.id sequence, which never goes back (a sequence is not rolled back
// with a transaction either), so no job is given an id in it later.
func (s *Store) ReserveJobIDs(ctx context.Context, n int) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve job ids: n must be positive, not %d", n)
	}
	var first int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+idsLock+`)`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('jobs', 'id'))`).Scan(&first); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('jobs', 'id'), $1)`, first+int64(n)-1)
		return err
	})
	if err = s.check(err, nil); err != nil {
		return 0, fmt.Errorf("reserve job ids: %w", err)
	}
	return first, nil
}

// MissingJobs implements store.JobStore.
func (s *Store) MissingJobs(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT i FROM unnest($1::bigint[]) AS i WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE id = i)`, ids)
	var missing []int64
	if err == nil {
		missing, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("missing jobs: %w", err)
	}
	return missing, nil
}

// leaseLost maps "no row": the update's lease condition did not hold.
func leaseLost(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrLeaseLost
	}
	return err
}
