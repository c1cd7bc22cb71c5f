package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/store"
)

// CreateUser implements store.UserStore.
func (s *Store) CreateUser(ctx context.Context, name string, role store.Role, now time.Time) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `INSERT INTO users (name, role, created) VALUES ($1, $2, $3) RETURNING name, role, created`,
		name, string(role), now))
	if uniqueViolation(err) {
		return nil, fmt.Errorf("create user %q: %w", name, store.ErrExists)
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("create user %q: %w", name, err)
	}
	return u, nil
}

func scanUser(row pgx.Row) (*store.User, error) {
	var u store.User
	var role string
	if err := row.Scan(&u.Name, &role, &u.Created); err != nil {
		return nil, err
	}
	u.Role, u.Created = store.Role(role), u.Created.UTC()
	return &u, nil
}

// GetUser implements store.UserStore.
func (s *Store) GetUser(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT name, role, created FROM users WHERE name = $1`, name))
	return u, s.check(err, store.ErrNotFound)
}

// ListUsers implements store.UserStore.
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, role, created FROM users ORDER BY name`)
	var out []*store.User
	if err == nil {
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.User, error) { return scanUser(r) })
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// CountUsers implements store.UserStore.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, s.check(err, nil)
}

const tokenColumns = `id, user_name, label, created, revoked, last_used`

func scanToken(row pgx.Row) (*store.Token, error) {
	var t store.Token
	if err := row.Scan(&t.ID, &t.User, &t.Label, &t.Created, &t.Revoked, &t.LastUsed); err != nil {
		return nil, err
	}
	t.Created, t.Revoked, t.LastUsed = t.Created.UTC(), utc(t.Revoked), utc(t.LastUsed)
	return &t, nil
}

// CreateToken implements store.UserStore.
func (s *Store) CreateToken(ctx context.Context, user, label string, hash []byte, now time.Time) (*store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `INSERT INTO tokens (user_name, label, hash, created)
		SELECT name, $1, $2, $3 FROM users WHERE name = $4 RETURNING `+tokenColumns, label, hash, now, user))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("create token for %q: user %w", user, store.ErrNotFound)
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("create token for %q: %w", user, err)
	}
	return t, nil
}

// ListTokens implements store.UserStore.
func (s *Store) ListTokens(ctx context.Context, user string) ([]*store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE $1 = '' OR user_name = $1 ORDER BY id`, user)
	var out []*store.Token
	if err == nil {
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Token, error) { return scanToken(r) })
	}
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements store.UserStore: the revocation and the bump of
// auth_version commit together, so no cache can miss it.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL`, now, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = tx.Exec(ctx, `UPDATE auth_version SET version = version + 1 WHERE id = 1`)
		return err
	})
	if err = s.check(err, nil); err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// AuthVersion implements store.UserStore.
func (s *Store) AuthVersion(ctx context.Context) (string, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM auth_version WHERE id = 1`).Scan(&v)
	if err = s.check(err, nil); err != nil {
		return "", fmt.Errorf("auth version: %w", err)
	}
	return strconv.FormatInt(v, 10), nil
}

// LookupToken implements store.UserStore.
func (s *Store) LookupToken(ctx context.Context, hash []byte) (*store.User, *store.Token, error) {
	row := s.pool.QueryRow(ctx, `SELECT u.name, u.role, u.created, t.id, t.user_name, t.label, t.created, t.revoked, t.last_used
		FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.hash = $1 AND t.revoked IS NULL`, hash)
	var u store.User
	var t store.Token
	var role string
	err := row.Scan(&u.Name, &role, &u.Created, &t.ID, &t.User, &t.Label, &t.Created, &t.Revoked, &t.LastUsed)
	if err = s.check(err, store.ErrNotFound); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("lookup token: %w", err)
	}
	u.Role, u.Created, t.Created, t.Revoked, t.LastUsed = store.Role(role), u.Created.UTC(), t.Created.UTC(), utc(t.Revoked), utc(t.LastUsed)
	return &u, &t, nil
}
