// Package migrate copies a SQLite store (a data directory's bumpserve.db)
// into a PostgreSQL one: users, tokens (their hashes: the secrets stay
// valid), jobs with their whole history (ids, states, attempts, results,
// times) and fair-share usage. The source is read in one transaction, so
// a server may keep running on it (what it does after that moment is not
// copied); the target is written in one transaction, so a failed copy
// leaves it as it was. Job files stay where they are: the PostgreSQL
// controllers use the same --data directory.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// ErrNotEmpty: the target holds users or jobs and merging was not asked for.
var ErrNotEmpty = errors.New("target store is not empty")

// Counts says how many rows of each table were copied (or, for
// Skipped, found in the target already and left alone).
type Counts struct {
	Users, Tokens, Jobs, Usage, Accounting int
	// Notifications counts the rows of the notification tables: outbox,
	// delivery log and user settings.
	Notifications int
	// Groups counts the rows of groups, their members and their jobs.
	Groups  int
	Skipped int
}

// Run copies the SQLite store in data to the PostgreSQL database at url.
// Unless merge, a target that holds any user or job is refused with
// ErrNotEmpty; with merge, rows whose key the target has already are
// skipped, so running it again copies nothing twice.
func Run(ctx context.Context, data, url string, merge bool) (*Counts, error) {
	path := filepath.Join(data, "bumpserve.db")
	if _, err := jobfs.Lstat(data, "bumpserve.db"); err != nil {
		return nil, fmt.Errorf("from: no bumpserve database in %s (%w)", data, err)
	}
	// Both schemas up to date before reading one and writing the other.
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	src.Close()
	dst, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		return nil, err
	}
	dst.Close()

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rtx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rtx.Rollback()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if !merge {
		var users, jobs int
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM jobs)`).Scan(&users, &jobs); err != nil {
			return nil, fmt.Errorf("to: %w", err)
		}
		if users+jobs > 0 {
			return nil, fmt.Errorf("%w: it holds %d users and %d jobs (a copy made before?); pass --merge to copy only what it lacks", ErrNotEmpty, users, jobs)
		}
	}
	var c Counts
	err = pgx.BeginFunc(ctx, conn, func(wtx pgx.Tx) error {
		for _, t := range tables {
			copied, skipped, err := t.copy(ctx, rtx, wtx)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			*t.count(&c) += copied
			c.Skipped += skipped
		}
		// New ids continue after the copied ones.
		_, err := wtx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('jobs', 'id'), greatest((SELECT max(id) FROM jobs), 1));
			SELECT setval(pg_get_serial_sequence('tokens', 'id'), greatest((SELECT max(id) FROM tokens), 1));
			SELECT setval(pg_get_serial_sequence('notifications', 'id'), greatest((SELECT max(id) FROM notifications), 1));
			SELECT setval(pg_get_serial_sequence('notification_log', 'id'), greatest((SELECT max(id) FROM notification_log), 1))`)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}
