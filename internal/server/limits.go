package server

import (
	"sync"

	"golang.org/x/time/rate"
)

// rateLimiter gives each user a token bucket of submissions: a steady
// rate with bursts of the same size, so scripts that send a batch at once
// are not refused.
type rateLimiter struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	users map[string]*rate.Limiter
}

func newRateLimiter(perSecond float64) *rateLimiter {
	return &rateLimiter{rate: rate.Limit(perSecond), burst: max(int(perSecond), 1), users: map[string]*rate.Limiter{}}
}

func (l *rateLimiter) allow(user string) bool {
	l.mu.Lock()
	lim, ok := l.users[user]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.users[user] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}
