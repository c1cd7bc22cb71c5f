package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// Prepared statements, kept. Parsing SQL anew for every call took about a
// sixth of the controller's CPU under load (bumpserve bench --remote), so
// each distinct query is prepared once per connection and reused. Queries
// are built with placeholders only, so their texts are few; the caches
// stop growing at maxStmts all the same.
const maxStmts = 256

// readStmts prepares reader queries on first use (any reader connection;
// database/sql prepares again on others as needed).
type readStmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *readStmts) get(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil || len(c.m) >= maxStmts {
		return st
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared query reports the error
	}
	c.m[q] = st
	return st
}

func (c *readStmts) close() {
	for _, st := range c.m {
		st.Close()
	}
}

// readRow runs a one-row query on a reader connection.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.reads.get(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, q, args...)
}

// readRows runs a query on a reader connection.
func (s *Store) readRows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.reads.get(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, q, args...)
}

// writeStmts are the writer connection's statements. Only the writer
// goroutine touches them: a query first runs unprepared inside its batch
// (the one connection is busy with the transaction then) and is prepared
// after the batch commits.
type writeStmts struct {
	db     *sql.DB
	m      map[string]*sql.Stmt
	wanted []string
}

// prepareWanted prepares the queries met since the last call; the
// writer connection must be free.
func (c *writeStmts) prepareWanted() {
	for _, q := range c.wanted {
		if c.m[q] != nil || len(c.m) >= maxStmts {
			continue
		}
		if st, err := c.db.Prepare(q); err == nil {
			c.m[q] = st
		}
	}
	c.wanted = c.wanted[:0]
}

func (c *writeStmts) close() {
	for _, st := range c.m {
		st.Close()
	}
}

// wtx is a write transaction of the group commit, running its queries
// through the writer's prepared statements.
type wtx struct {
	*sql.Tx
	stmts *writeStmts
}

func (t *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := t.stmts.m[q]; st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	if len(t.stmts.m) < maxStmts {
		t.stmts.wanted = append(t.stmts.wanted, q)
	}
	return nil
}

func (t *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

func (t *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}
