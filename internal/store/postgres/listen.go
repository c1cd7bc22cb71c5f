package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// retryPause is how long a dedicated connection (change feed, leader
// lock) waits before connecting again after losing the database.
const retryPause = 500 * time.Millisecond

// dedicated opens a connection outside the pool, for a session that must
// stay on one connection (LISTEN, a session advisory lock).
func (s *Store) dedicated(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
}

// change is the payload of the jobs trigger (migrations/0001_init.sql)
// and of drained_workers' (0004_shared_limits.sql).
type change struct {
	ID      int64  `json:"id"`
	Version int64  `json:"version"`
	Owner   string `json:"owner"`
	State   string `json:"state"`
	Cancel  bool   `json:"cancel"`
	Deleted bool   `json:"deleted"`
	From    string `json:"from"`
	Drains  bool   `json:"drains"` // from drained_workers' trigger (0004)
}

// FollowChanges implements store.ChangeFeed with LISTEN on the channel the
// jobs trigger notifies.
func (s *Store) FollowChanges(ctx context.Context, fn func(store.Change), resync func()) error {
	lost := false
	for ctx.Err() == nil {
		err := s.listen(ctx, fn, func() {
			if lost {
				lost = false
				s.log.Info("change feed reconnected; resynchronising")
			}
			// Changes made before LISTEN took hold (at start, or while
			// the connection was down) were not heard.
			resync()
		})
		if ctx.Err() != nil {
			break
		}
		if !lost {
			lost = true
			s.log.Warn("change feed lost its connection; reconnecting", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryPause):
		}
	}
	return ctx.Err()
}

// listen follows changes on one connection until it fails; listening
// runs once LISTEN is in place.
func (s *Store) listen(ctx context.Context, fn func(store.Change), listening func()) error {
	conn, err := s.dedicated(ctx)
	if err != nil {
		return s.check(err, nil)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return s.check(err, nil)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{"bumpserve_jobs_" + schema}.Sanitize()); err != nil {
		return s.check(err, nil)
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return s.check(err, nil)
		}
		var c change
		if json.Unmarshal([]byte(n.Payload), &c) != nil {
			s.log.Warn("change feed: unreadable notification", "payload", n.Payload)
			continue
		}
		fn(store.Change{ID: c.ID, Version: c.Version, Owner: c.Owner, State: job.State(c.State),
			CancelRequested: c.Cancel, Deleted: c.Deleted, Local: c.From == s.instance, Drains: c.Drains})
	}
}
