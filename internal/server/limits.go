package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/time/rate"

	"github.com/bumpserve/bumpserve/internal/store"
)

// submitLimiter answers whether one more submission from key (a user, or
// an anonymous client's address) is within --submit-rate.
type submitLimiter interface {
	allow(ctx context.Context, key string) (bool, error)
}

// newSubmitLimiter keeps the buckets in the store when the store is
// shared by several controllers (each would otherwise allow the full
// rate), and in memory otherwise, costing no store write. kind keeps
// users' and addresses' buckets apart in the store.
func newSubmitLimiter(st store.Store, perSecond float64, kind string) submitLimiter {
	burst := max(int(perSecond), 1)
	if shared, ok := st.(store.SubmitLimiter); ok {
		return &storeLimiter{store: shared, prefix: kind + ":", rate: perSecond, burst: burst}
	}
	return &rateLimiter{rate: rate.Limit(perSecond), burst: burst, users: map[string]*rate.Limiter{}}
}

// rateLimiter gives each user a token bucket of submissions: a steady
// rate with bursts of the same size, so scripts that send a batch at once
// are not refused.
type rateLimiter struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	users map[string]*rate.Limiter
}

func (l *rateLimiter) allow(_ context.Context, user string) (bool, error) {
	l.mu.Lock()
	lim, ok := l.users[user]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.users[user] = lim
	}
	l.mu.Unlock()
	return lim.Allow(), nil
}

// storeLimiter is the same bucket kept in a shared store.
type storeLimiter struct {
	store  store.SubmitLimiter
	prefix string
	rate   float64
	burst  int
}

func (l *storeLimiter) allow(ctx context.Context, key string) (bool, error) {
	return l.store.AllowSubmit(ctx, l.prefix+key, l.rate, l.burst)
}

// withinRate is nil if key may submit now, else the 429 to answer (or
// the store's failure).
func (s *Server) withinRate(ctx context.Context, l submitLimiter, key string) *httpError {
	ok, err := l.allow(ctx, key)
	if err != nil {
		return storeFailed(err.Error(), err)
	}
	if !ok {
		return &httpError{http.StatusTooManyRequests, fmt.Sprintf("too many submissions: at most %g per second", s.cfg.SubmitRate)}
	}
	return nil
}
