package sqlite

import (
	"context"
	"database/sql"
)

// Checkpoints (copying the WAL back into the database file, and on a
// disk its fsyncs) run on a connection of their own, not in the writer's
// commits as SQLite's automatic checkpoints would: a write batch then
// never waits for one, and the copy runs beside the writer. PASSIVE
// checkpoints never block the writer or readers; the writer starts the
// WAL over once a checkpoint has caught up.

// checkpointCommits is how many commits the WAL takes before a
// checkpoint: about what SQLite's own default (1000 pages) amounts to at
// a few pages a commit, so the WAL grows and is reused as it would be.
const checkpointCommits = 256

// wrote tells the checkpointer that the writer committed once more.
func (s *Store) wrote() {
	if s.commits.Load()%checkpointCommits != 0 {
		return
	}
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// checkpointer checkpoints when told to, until the store closes.
func (s *Store) checkpointer(db *sql.DB) {
	defer close(s.checkpointerDone)
	for {
		select {
		case <-s.closed:
			return
		case <-s.dirty:
		}
		if _, err := db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && s.onWriteError != nil {
			s.onWriteError(err)
		}
	}
}
