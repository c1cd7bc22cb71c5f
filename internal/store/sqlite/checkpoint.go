package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Checkpoints (copying the WAL back into the database file, and on a
// disk its fsyncs) run on a connection of their own, not in the writer's
// commits as SQLite's automatic checkpoints would: a write batch then
// never waits for one, and the copy runs beside the writer. PASSIVE
// checkpoints never block the writer or readers; the writer starts the
// WAL over once a checkpoint has caught up.

// checkpointEvery is how often the WAL is checkpointed while it grows.
const checkpointEvery = 200 * time.Millisecond

// wrote tells the checkpointer that the WAL grew.
func (s *Store) wrote() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// checkpointer checkpoints after writes, at most every checkpointEvery,
// until the store closes.
func (s *Store) checkpointer(db *sql.DB) {
	defer close(s.checkpointerDone)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-s.dirty:
		}
		select {
		case <-s.closed:
			return
		case <-tick.C:
		}
		if _, err := db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && s.onWriteError != nil {
			s.onWriteError(err)
		}
	}
}
