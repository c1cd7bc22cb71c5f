package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// ReleaseHeld implements store.JobStore.
func (s *Store) ReleaseHeld(ctx context.Context, id int64, spec json.RawMessage) (*job.Job, error) {
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, held = 0, spec = coalesce(?, spec)
			WHERE id = ? AND state = 'PENDING' AND held = 1 RETURNING `+jobColumns, nullString(spec), id))
		if errors.Is(err, sql.ErrNoRows) {
			return finishedOrMissing(ctx, tx, id)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("release job %d: %w", id, err)
	}
	return j, nil
}

// EndHeld implements store.JobStore.
func (s *Store) EndHeld(ctx context.Context, p *store.EndHeldParams) (*job.Job, error) {
	if !p.State.Terminal() {
		return nil, fmt.Errorf("end job %d: %s is not a terminal state", p.ID, p.State)
	}
	var j *job.Job
	err := s.tx(ctx, func(tx *wtx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, state = ?, reason = ?, result = ?, finished = ?, held = 0
			WHERE id = ? AND state = 'PENDING' AND held = 1 RETURNING `+jobColumns,
			string(p.State), p.Reason, nullString(p.Result), nanos(p.Now), p.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return finishedOrMissing(ctx, tx, p.ID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("end job %d: %w", p.ID, err)
	}
	return j, nil
}

// nullID stores 0 as NULL (no parent).
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
