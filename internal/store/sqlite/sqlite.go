// Package sqlite is the embedded store: SQLite (pure Go, no cgo) in WAL
// mode with one writer connection and a pool of readers. The single writer
// serialises transitions without lock contention; WAL lets readers (job
// pages, listings, other processes such as `bumpserve user add`) go on
// while it writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/bumpserve/bumpserve/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// readers is the size of the reader pool.
const readers = 8

// Options tune the database.
type Options struct {
	// FullSync asks for synchronous=FULL: durable across power loss, not
	// only across a crash of the process (NORMAL, the default).
	FullSync bool
	// OnWriteError, if set, hears of every failed write, so that a full
	// disk can be noticed (and room made) before the caller retries.
	OnWriteError func(error)
}

// Store is a SQLite-backed store.Store.
type Store struct {
	w  *sql.DB // the one writer connection, used by the writer goroutine
	r  *sql.DB // readers
	cp *sql.DB // the checkpointer's connection

	reads  readStmts  // prepared reader statements
	wstmts writeStmts // the writer's, touched only by the writer goroutine

	onWriteError func(error)
	authStamp    string // see AuthVersion

	writes     chan *writeOp
	closed     chan struct{}
	writerDone chan struct{}

	dirty            chan struct{} // the WAL grew since the last checkpoint
	checkpointerDone chan struct{}

	commits, writesDone atomic.Int64 // see WriteStats
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies any
// migrations it lacks.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	sync := "NORMAL"
	if opt.FullSync {
		sync = "FULL"
	}
	q := url.Values{}
	// A page cache of 32 MB per connection keeps a store of 100,000 jobs'
	// indexes in memory. (No mmap: an I/O error on a mapped page is a
	// SIGBUS, which a Go process cannot survive.)
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(" + sync + ")", "foreign_keys(1)",
		"cache_size(-32768)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	// The writer leaves checkpoints to the checkpointer (checkpoint.go).
	w, err := sql.Open("sqlite", dsn+"&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	cp, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	cp.SetMaxOpenConns(1)
	cp.SetConnMaxLifetime(0)
	// Keep every reader open: database/sql keeps only 2 idle by default,
	// so under load readers were closed and reopened all the time, each
	// reopening applying the pragmas and preparing its statements anew.
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	s := &Store{w: w, r: r, cp: cp, writes: make(chan *writeOp, maxBatch), closed: make(chan struct{}), writerDone: make(chan struct{}),
		dirty: make(chan struct{}, 1), checkpointerDone: make(chan struct{}),
		reads: readStmts{db: r, m: map[string]*sql.Stmt{}}, wstmts: writeStmts{db: w, m: map[string]*sql.Stmt{}}}
	s.onWriteError = opt.OnWriteError
	s.authStamp = path + authStampSuffix
	go s.writer()
	go s.checkpointer(cp)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the writer and closes both pools.
func (s *Store) Close() error {
	close(s.closed)
	<-s.writerDone
	<-s.checkpointerDone
	s.wstmts.close()
	s.reads.close()
	// The last connection to close checkpoints the whole WAL.
	return errors.Join(s.r.Close(), s.cp.Close(), s.w.Close())
}

// migrate applies the embedded migrations in order, each in its own
// transaction, recording the versions applied.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
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
		if err := s.tx(ctx, func(tx *wtx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			// Several statements, run once: not one to keep prepared.
			if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", base, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, version)
			return err
		}); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}
