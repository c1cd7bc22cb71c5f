package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
)

// CreateUser implements store.UserStore.
func (s *Store) CreateUser(ctx context.Context, name string, role store.Role, now time.Time) (*store.User, error) {
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (name, role, created) VALUES (?, ?, ?)`, name, string(role), nanos(now))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return nil, fmt.Errorf("create user %q: %w", name, store.ErrExists)
		}
		return nil, fmt.Errorf("create user %q: %w", name, err)
	}
	return &store.User{Name: name, Role: role, Created: fromNanos(nanos(now))}, nil
}

func scanUser(row scanner) (*store.User, error) {
	var u store.User
	var created int64
	if err := row.Scan(&u.Name, &u.Role, &created); err != nil {
		return nil, err
	}
	u.Created = fromNanos(created)
	return &u, nil
}

// GetUser implements store.UserStore.
func (s *Store) GetUser(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(s.readRow(ctx, `SELECT name, role, created FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return u, err
}

// ListUsers implements store.UserStore.
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	rows, err := s.readRows(ctx, `SELECT name, role, created FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers implements store.UserStore.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.readRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

const tokenColumns = `id, user, label, created, revoked, last_used`

func scanToken(row scanner) (*store.Token, error) {
	var t store.Token
	var created int64
	var revoked, lastUsed sql.NullInt64
	if err := row.Scan(&t.ID, &t.User, &t.Label, &created, &revoked, &lastUsed); err != nil {
		return nil, err
	}
	t.Created, t.Revoked, t.LastUsed = fromNanos(created), optTime(revoked), optTime(lastUsed)
	return &t, nil
}

// CreateToken implements store.UserStore.
func (s *Store) CreateToken(ctx context.Context, user, label string, hash []byte, now time.Time) (*store.Token, error) {
	t, err := scanToken(s.w.QueryRowContext(ctx, `INSERT INTO tokens (user, label, hash, created)
		SELECT name, ?, ?, ? FROM users WHERE name = ? RETURNING `+tokenColumns, label, hash, nanos(now), user))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("create token for %q: user %w", user, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("create token for %q: %w", user, err)
	}
	return t, nil
}

// ListTokens implements store.UserStore.
func (s *Store) ListTokens(ctx context.Context, user string) ([]*store.Token, error) {
	q, args := `SELECT `+tokenColumns+` FROM tokens ORDER BY id`, []any{}
	if user != "" {
		q, args = `SELECT `+tokenColumns+` FROM tokens WHERE user = ? ORDER BY id`, []any{user}
	}
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements store.UserStore.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL`, nanos(now), id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke token %d: %w", id, store.ErrNotFound)
	}
	return s.bumpAuthVersion()
}

// LookupToken implements store.UserStore.
func (s *Store) LookupToken(ctx context.Context, hash []byte) (*store.User, *store.Token, error) {
	row := s.readRow(ctx, `SELECT u.name, u.role, u.created, t.id, t.user, t.label, t.created, t.revoked, t.last_used
		FROM tokens t JOIN users u ON u.name = t.user WHERE t.hash = ? AND t.revoked IS NULL`, hash)
	var u store.User
	var t store.Token
	var uc, tc int64
	var revoked, lastUsed sql.NullInt64
	err := row.Scan(&u.Name, &u.Role, &uc, &t.ID, &t.User, &t.Label, &tc, &revoked, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, store.ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lookup token: %w", err)
	}
	u.Created, t.Created, t.Revoked, t.LastUsed = fromNanos(uc), fromNanos(tc), optTime(revoked), optTime(lastUsed)
	return &u, &t, nil
}
