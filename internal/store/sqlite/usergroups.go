package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
)

// Groups of users and the jobs shared with them (store.GroupStore).
// (group.go is the writer's group commit, another sense of the word.)

// CreateGroup implements store.GroupStore.
func (s *Store) CreateGroup(ctx context.Context, name string, now time.Time) (*store.Group, error) {
	err := s.tx(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO groups (name, created) VALUES (?, ?)`, name, nanos(now))
		return err
	})
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return nil, fmt.Errorf("create group %q: %w", name, store.ErrExists)
		}
		return nil, fmt.Errorf("create group %q: %w", name, err)
	}
	return &store.Group{Name: name, Members: []string{}, Created: fromNanos(nanos(now))}, nil
}

// ListGroups implements store.GroupStore.
func (s *Store) ListGroups(ctx context.Context) ([]*store.Group, error) {
	rows, err := s.readRows(ctx, `SELECT g.name, g.created, m.user FROM groups g
		LEFT JOIN group_members m ON m.grp = g.name ORDER BY g.name, m.user`)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var out []*store.Group
	for rows.Next() {
		var name string
		var created int64
		var user sql.NullString
		if err := rows.Scan(&name, &created, &user); err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, &store.Group{Name: name, Members: []string{}, Created: fromNanos(created)})
		}
		if user.Valid {
			g := out[len(out)-1]
			g.Members = append(g.Members, user.String)
		}
	}
	return out, rows.Err()
}

// exists reports whether table has a row whose column is v.
func exists(ctx context.Context, tx *wtx, table, column string, v any) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+column+` = ?`, v).Scan(&n)
	return n > 0, err
}

// SetGroupMember implements store.GroupStore.
func (s *Store) SetGroupMember(ctx context.Context, group, user string, member bool) error {
	err := s.tx(ctx, func(tx *wtx) error {
		for _, c := range []struct{ table, what, name string }{{"groups", "group", group}, {"users", "user", user}} {
			ok, err := exists(ctx, tx, c.table, "name", c.name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s %q: %w", c.what, c.name, store.ErrNotFound)
			}
		}
		var err error
		if member {
			_, err = tx.ExecContext(ctx, `INSERT INTO group_members (grp, user) VALUES (?, ?) ON CONFLICT DO NOTHING`, group, user)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM group_members WHERE grp = ? AND user = ?`, group, user)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set member of %s: %w", group, err)
	}
	return nil
}

// readColumn reads a one-column result.
func (s *Store) readColumn(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// UserGroups implements store.GroupStore.
func (s *Store) UserGroups(ctx context.Context, user string) ([]string, error) {
	gs, err := s.readColumn(ctx, `SELECT grp FROM group_members WHERE user = ? ORDER BY grp`, user)
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", user, err)
	}
	return gs, nil
}

// ShareJob implements store.GroupStore.
func (s *Store) ShareJob(ctx context.Context, id int64, groups []string, share bool) error {
	err := s.tx(ctx, func(tx *wtx) error {
		if ok, err := exists(ctx, tx, "jobs", "id", id); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("job %d: %w", id, store.ErrNotFound)
			}
			return err
		}
		for _, g := range groups {
			if !share {
				if _, err := tx.ExecContext(ctx, `DELETE FROM job_groups WHERE job = ? AND grp = ?`, id, g); err != nil {
					return err
				}
				continue
			}
			if ok, err := exists(ctx, tx, "groups", "name", g); err != nil || !ok {
				if err == nil {
					err = fmt.Errorf("group %q: %w", g, store.ErrNotFound)
				}
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_groups (job, grp) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("share job %d: %w", id, err)
	}
	return nil
}

// JobGroups implements store.GroupStore.
func (s *Store) JobGroups(ctx context.Context, id int64) ([]string, error) {
	gs, err := s.readColumn(ctx, `SELECT grp FROM job_groups WHERE job = ? ORDER BY grp`, id)
	if err != nil {
		return nil, fmt.Errorf("groups of job %d: %w", id, err)
	}
	return gs, nil
}

// SharedWith implements store.GroupStore.
func (s *Store) SharedWith(ctx context.Context, id int64, user string) (bool, error) {
	var n int
	err := s.readRow(ctx, `SELECT count(*) FROM job_groups j JOIN group_members m ON m.grp = j.grp
		WHERE j.job = ? AND m.user = ?`, id, user).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("shared with %s: %w", user, err)
	}
	return n > 0, nil
}

// sharedWithClause keeps the jobs shared with a group of one user (its
// one argument) in a listing.
const sharedWithClause = `id IN (SELECT j.job FROM job_groups j JOIN group_members m ON m.grp = j.grp WHERE m.user = ?)`
