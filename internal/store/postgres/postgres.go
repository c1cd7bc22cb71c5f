// Package postgres is the store for several controllers sharing one
// database: PostgreSQL through pgx v5, with a pool of connections.
// Every transition is one transaction; claims lock the jobs they take
// with FOR UPDATE SKIP LOCKED, so two controllers claiming at once never
// hand one job to two executors and never wait on each other. A trigger
// announces every job change with NOTIFY (see FollowChanges), and
// session advisory locks let one controller at a time run the duties
// that must not run twice (see Lead).
//
// Migrations: its own table of versions (schema_migrations) and the SQL
// files embedded from migrations/, applied in order on Open, each in its
// own transaction under a transaction advisory lock so that controllers
// starting together apply each once. This is the SQLite engine's scheme
// (one way to read both), needs no extra module, and the lock is one
// line; goose would add a dependency for the same few lines.
package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bumpserve/bumpserve/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store.
type Options struct {
	// MaxConns caps the pool (default 16).
	MaxConns int32
	// Logger hears when the database goes away and comes back.
	Logger *slog.Logger
}

// Store is a PostgreSQL-backed store.Store.
type Store struct {
	pool     *pgxpool.Pool
	instance string // this process's application_name, to tell its own changes apart
	log      *slog.Logger
	health   health
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.ChangeFeed    = (*Store)(nil)
	_ store.SubmitLimiter = (*Store)(nil)
	_ store.Leader        = (*Store)(nil)
)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://) rather than a SQLite one.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url, checks that it answers, and
// applies any migrations it lacks.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may repeat the URL with its password.
		return nil, fmt.Errorf("store: %q is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…): %w", Redact(url), errors.Unwrap(err))
	}
	cfg.MaxConns = cmp.Or(opt.MaxConns, 16)
	b := make([]byte, 8)
	rand.Read(b)
	instance := "bumpserve " + hex.EncodeToString(b)
	cfg.ConnConfig.RuntimeParams["application_name"] = instance
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", Redact(url), err)
	}
	s := &Store{pool: pool, instance: instance, log: cmp.Or(opt.Logger, slog.Default()).With("component", "postgres")}
	s.health.log = s.log
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store %s: %w", Redact(url), err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Redact returns url without its password, for messages.
func Redact(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil || cfg.Password == "" {
		return url
	}
	return strings.Replace(url, ":"+cfg.Password+"@", ":***@", 1)
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// migrate applies the embedded migrations in order, each in its own
// transaction, recording the versions applied.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// Controllers starting together take turns; the table exists
			// before anyone reads it.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('bumpserve'), hashtext(current_schema() || ':migrate'))`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil || done {
				return err
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", base, err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
