package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// ReleaseHeld implements store.JobStore.
func (s *Store) ReleaseHeld(ctx context.Context, id int64, spec json.RawMessage) (*job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET version = version + 1, held = false, spec = coalesce($2, spec)
		WHERE id = $1 AND state = 'PENDING' AND held RETURNING `+jobColumns, id, text(spec)))
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.missingOrFinished(ctx, id)
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("release job %d: %w", id, err)
	}
	return j, nil
}

// EndHeld implements store.JobStore.
func (s *Store) EndHeld(ctx context.Context, p *store.EndHeldParams) (*job.Job, error) {
	if !p.State.Terminal() {
		return nil, fmt.Errorf("end job %d: %s is not a terminal state", p.ID, p.State)
	}
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET version = version + 1, state = $2, reason = $3, result = $4, finished = $5, held = false
		WHERE id = $1 AND state = 'PENDING' AND held RETURNING `+jobColumns,
		p.ID, string(p.State), p.Reason, text(p.Result), p.Now))
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.missingOrFinished(ctx, p.ID)
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("end job %d: %w", p.ID, err)
	}
	return j, nil
}

// missingOrFinished says why a write to a held job changed nothing.
func (s *Store) missingOrFinished(ctx context.Context, id int64) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return store.ErrFinished
	}
	return store.ErrNotFound
}

// nullID stores 0 as NULL (no parent).
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
