package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bumpserve/bumpserve/internal/store"
)

// health notices when the database stops answering and when it is back,
// and says so once each way in the log (not once per failed request).
type health struct {
	log  *slog.Logger
	mu   sync.Mutex
	down bool
}

func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		h.down = true
		h.log.Error("postgresql unreachable; requests answer 503 until it is back", "err", err)
	}
}

func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		h.down = false
		h.log.Info("postgresql reachable again; carrying on")
	}
}

// unreachable reports whether err means the database could not be
// reached or went away mid-request, as opposed to a refused statement.
func unreachable(err error) bool {
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P01..57P03: the server is
		// shutting down or starting up.
		return pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	case errors.As(err, &ne), pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, net.ErrClosed)
}

// check translates an error from pgx at the boundary: no rows becomes
// notFound (nil to keep pgx.ErrNoRows), a lost database
// store.ErrUnavailable; it also keeps the health state.
func (s *Store) check(err error, notFound error) error {
	switch {
	case err == nil:
		s.health.ok()
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		s.health.ok()
		if notFound != nil {
			return notFound
		}
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case unreachable(err):
		s.health.failed(err)
		return fmt.Errorf("%w: postgresql unreachable, retry shortly (%v)", store.ErrUnavailable, err)
	}
	return err
}

// uniqueViolation reports a duplicate key.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
