package auth

import (
	"context"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
)

// Cache remembers verified tokens, so that a request is authenticated
// without a database read. It is good only while the store's AuthVersion
// stays the same: any revocation, by this process or another, empties
// it before the next request is let through. Entries also expire after
// MaxAge, bounding the trust in one whose revocation was never stamped
// (a process killed between the revocation's commit and its stamp).
// Unknown tokens are never cached: each costs a lookup, as before.
type Cache struct {
	Store store.UserStore
	// MaxAge bounds how long a verified token is trusted without a
	// lookup (default a minute).
	MaxAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	version string
	entries map[[32]byte]cached
}

type cached struct {
	user     *store.User
	verified time.Time
}

// maxEntries bounds the cache; past it, it starts afresh.
const maxEntries = 10000

// Lookup returns the user of the live token with this hash (from Hash),
// or store.ErrNotFound.
func (c *Cache) Lookup(ctx context.Context, hash []byte) (*store.User, error) {
	var key [32]byte
	copy(key[:], hash)
	version, err := c.Store.AuthVersion(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	c.mu.Lock()
	if version != c.version || c.entries == nil {
		c.version, c.entries = version, map[[32]byte]cached{}
	}
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.verified) < c.maxAge() {
		u := *e.user // the caller's to keep
		return &u, nil
	}
	u, _, err := c.Store.LookupToken(ctx, hash)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	// Kept under the version read before the lookup: if a revocation
	// came in between, the version has moved and the entry is dropped
	// by the next request.
	if c.version == version {
		if len(c.entries) >= maxEntries {
			c.entries = map[[32]byte]cached{}
		}
		c.entries[key] = cached{user: u, verified: now}
	}
	c.mu.Unlock()
	return u, nil
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return time.Minute
}
