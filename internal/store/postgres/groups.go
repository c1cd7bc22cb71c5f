package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/store"
)

// Groups of users and the jobs shared with them (store.GroupStore).

// CreateGroup implements store.GroupStore.
func (s *Store) CreateGroup(ctx context.Context, name string, now time.Time) (*store.Group, error) {
	g := &store.Group{Name: name, Members: []string{}}
	err := s.pool.QueryRow(ctx, `INSERT INTO groups (name, created) VALUES ($1, $2) RETURNING created`, name, now).Scan(&g.Created)
	if uniqueViolation(err) {
		return nil, fmt.Errorf("create group %q: %w", name, store.ErrExists)
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("create group %q: %w", name, err)
	}
	g.Created = g.Created.UTC()
	return g, nil
}

// ListGroups implements store.GroupStore.
func (s *Store) ListGroups(ctx context.Context) ([]*store.Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT g.name, g.created,
		coalesce(array_agg(m.user_name ORDER BY m.user_name) FILTER (WHERE m.user_name IS NOT NULL), '{}')
		FROM groups g LEFT JOIN group_members m ON m.grp = g.name GROUP BY g.name, g.created ORDER BY g.name`)
	var out []*store.Group
	if err == nil {
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Group, error) {
			var g store.Group
			err := r.Scan(&g.Name, &g.Created, &g.Members)
			g.Created = g.Created.UTC()
			return &g, err
		})
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return out, nil
}

// mustExist fails with ErrNotFound, naming what, unless q (a count) finds a row.
func mustExist(ctx context.Context, tx pgx.Tx, what string, name any, q string) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (`+q+`)`, name).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s %q: %w", what, fmt.Sprint(name), store.ErrNotFound)
	}
	return nil
}

// SetGroupMember implements store.GroupStore.
func (s *Store) SetGroupMember(ctx context.Context, group, user string, member bool) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "group", group, `SELECT 1 FROM groups WHERE name = $1`); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "user", user, `SELECT 1 FROM users WHERE name = $1`); err != nil {
			return err
		}
		var err error
		if member {
			_, err = tx.Exec(ctx, `INSERT INTO group_members (grp, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, group, user)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM group_members WHERE grp = $1 AND user_name = $2`, group, user)
		}
		return err
	})
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("set member of %s: %w", group, err)
	}
	return nil
}

// names reads a one-column result.
func (s *Store) names(ctx context.Context, q string, arg any) ([]string, error) {
	rows, err := s.pool.Query(ctx, q, arg)
	out := []string{}
	if err == nil {
		out, err = pgx.AppendRows(out, rows, pgx.RowTo[string])
	}
	return out, s.check(err, nil)
}

// UserGroups implements store.GroupStore.
func (s *Store) UserGroups(ctx context.Context, user string) ([]string, error) {
	gs, err := s.names(ctx, `SELECT grp FROM group_members WHERE user_name = $1 ORDER BY grp`, user)
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", user, err)
	}
	return gs, nil
}

// ShareJob implements store.GroupStore.
func (s *Store) ShareJob(ctx context.Context, id int64, groups []string, share bool) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "job", id, `SELECT 1 FROM jobs WHERE id = $1`); err != nil {
			return err
		}
		for _, g := range groups {
			if !share {
				if _, err := tx.Exec(ctx, `DELETE FROM job_groups WHERE job = $1 AND grp = $2`, id, g); err != nil {
					return err
				}
				continue
			}
			if err := mustExist(ctx, tx, "group", g, `SELECT 1 FROM groups WHERE name = $1`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO job_groups (job, grp) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("share job %d: %w", id, err)
	}
	return nil
}

// JobGroups implements store.GroupStore.
func (s *Store) JobGroups(ctx context.Context, id int64) ([]string, error) {
	gs, err := s.names(ctx, `SELECT grp FROM job_groups WHERE job = $1 ORDER BY grp`, id)
	if err != nil {
		return nil, fmt.Errorf("groups of job %d: %w", id, err)
	}
	return gs, nil
}

// SharedWith implements store.GroupStore.
func (s *Store) SharedWith(ctx context.Context, id int64, user string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM job_groups j JOIN group_members m ON m.grp = j.grp
		WHERE j.job = $1 AND m.user_name = $2)`, id, user).Scan(&ok)
	if err = s.check(err, nil); err != nil {
		return false, fmt.Errorf("shared with %s: %w", user, err)
	}
	return ok, nil
}
