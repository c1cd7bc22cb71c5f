package postgres

import (
	"context"
	"sync"
	"time"
)

// leaderCheck is how often a leader makes sure its lock's connection is
// alive, and a follower tries to take the lock: the bound on how long a
// duty goes undone after its holder dies.
const leaderCheck = time.Second

// Lead implements store.Leader with a session advisory lock on a
// connection of its own: the lock lives exactly as long as that session,
// so a controller killed outright (its socket closed by the kernel) or
// cut off from the database lets it go, and the next follower to try
// takes it.
func (s *Store) Lead(ctx context.Context, name string, fn func(ctx context.Context)) error {
	for ctx.Err() == nil {
		if err := s.leadOnce(ctx, name, fn); err != nil && ctx.Err() == nil {
			s.log.Warn("leader lock: connection lost; trying again", "duty", name, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(leaderCheck):
		}
	}
	return ctx.Err()
}

// leadOnce tries to take the lock on a fresh connection and, if it does,
// runs fn until ctx ends or the connection fails.
func (s *Store) leadOnce(ctx context.Context, name string, fn func(ctx context.Context)) error {
	conn, err := s.dedicated(ctx)
	if err != nil {
		return s.check(err, nil)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var got bool
		err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('bumpserve'), hashtext(current_schema() || ':' || $1))`, name).Scan(&got)
		if err != nil {
			return s.check(err, nil)
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(leaderCheck):
		}
	}
	s.log.Info("leading", "duty", name)
	dutyCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); fn(dutyCtx) }()
	defer wg.Wait()
	defer stop()
	tick := time.NewTicker(leaderCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := conn.Ping(ctx); err != nil {
			s.log.Warn("no longer leading: lost the lock's connection", "duty", name)
			return s.check(err, nil)
		}
	}
}
