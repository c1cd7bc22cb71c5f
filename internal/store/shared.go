package store

import (
	"context"
	"errors"

	"github.com/bumpserve/bumpserve/internal/job"
)

// ErrUnavailable: the database cannot be reached just now (a PostgreSQL
// restart, a network cut). The request may be retried; the HTTP API
// answers 503.
var ErrUnavailable = errors.New("store unavailable")

// The interfaces below are implemented by engines that several
// controllers share at once (PostgreSQL). A store without them (SQLite)
// has one controller, which then does everything itself.

// Change is a job change as a shared store reports it to every
// controller: enough to decide whether anyone here cares, without
// reading the job.
type Change struct {
	ID              int64
	Version         int64
	Owner           string
	State           job.State
	CancelRequested bool
	Deleted         bool
	// Local: this process made the change (it has already told its own
	// watchers).
	Local bool
	// Drains: not a job change but the set of drained executors changed
	// (the other fields are zero); cached copies are stale.
	Drains bool
}

// ChangeFeed delivers every job change, from any controller.
type ChangeFeed interface {
	// FollowChanges calls fn for each change until ctx ends, reconnecting
	// after a lost connection. Each time it starts listening (at first and
	// after a reconnection) it calls resync, since changes made before
	// then were not heard.
	FollowChanges(ctx context.Context, fn func(Change), resync func()) error
}

// Leader runs duties that one controller at a time must do.
type Leader interface {
	// Lead runs fn whenever this process holds the named lock, with a
	// context that ends if the lock is lost; it returns when ctx ends.
	// When the holder dies another process takes over.
	Lead(ctx context.Context, name string, fn func(ctx context.Context)) error
}

// SubmitLimiter keeps each submitter's rate (--submit-rate) in the store,
// so that all controllers draw on one allowance rather than one each.
type SubmitLimiter interface {
	// AllowSubmit takes one token from key's bucket, which refills at
	// perSecond and holds at most burst, and reports whether it had one.
	AllowSubmit(ctx context.Context, key string, perSecond float64, burst int) (bool, error)
}
