package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// countingStore counts the token lookups that reach the database.
type countingStore struct {
	store.UserStore
	lookups atomic.Int64
}

func (s *countingStore) LookupToken(ctx context.Context, hash []byte) (*store.User, *store.Token, error) {
	s.lookups.Add(1)
	return s.UserStore.LookupToken(ctx, hash)
}

type bundle struct {
	ctx    context.Context
	path   string
	st     *countingStore
	cache  *auth.Cache
	now    time.Time
	tokens map[string]*store.Token
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	b := &bundle{ctx: ctx, path: path, st: &countingStore{UserStore: s}, now: time.Unix(1e9, 0), tokens: map[string]*store.Token{}}
	b.cache = &auth.Cache{Store: b.st, MaxAge: time.Minute, Now: func() time.Time { return b.now }}
	if _, err := s.CreateUser(ctx, "alice", store.RoleUser, b.now); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"one", "two"} {
		tok, err := s.CreateToken(ctx, "alice", secret, auth.Hash(secret), b.now)
		if err != nil {
			t.Fatal(err)
		}
		b.tokens[secret] = tok
	}
	return b
}

func (b *bundle) lookup(t *testing.T, secret string) error {
	t.Helper()
	u, err := b.cache.Lookup(b.ctx, auth.Hash(secret))
	if err == nil && u.Name != "alice" {
		t.Fatalf("token %q is %q's, want alice's", secret, u.Name)
	}
	return err
}

// A verified token is served from memory; an unknown one is looked up
// every time and never cached.
func TestCacheServesVerifiedTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 3 {
		if err := b.lookup(t, "one"); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.st.lookups.Load(); n != 1 {
		t.Fatalf("3 requests with one token made %d lookups, want 1", n)
	}
	for range 2 {
		if err := b.lookup(t, "bogus"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if n := b.st.lookups.Load(); n != 3 {
		t.Fatalf("lookups = %d, want 3 (unknown tokens are not cached)", n)
	}
	// Past MaxAge the token is verified again.
	b.now = b.now.Add(2 * time.Minute)
	if err := b.lookup(t, "one"); err != nil || b.st.lookups.Load() != 4 {
		t.Fatalf("after MaxAge: %v, %d lookups, want 4", err, b.st.lookups.Load())
	}
}

// A token revoked by another process (bumpserve user revoke opens the
// database itself) is refused by the very next request, and the other
// tokens still work.
func TestCacheForgetsRevokedTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, secret := range []string{"one", "two"} {
		if err := b.lookup(t, secret); err != nil {
			t.Fatal(err)
		}
	}
	other, err := sqlite.Open(b.ctx, b.path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.RevokeToken(b.ctx, b.tokens["one"].ID, b.now); err != nil {
		t.Fatal(err)
	}
	if err := b.lookup(t, "one"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token: %v, want ErrNotFound", err)
	}
	if err := b.lookup(t, "two"); err != nil {
		t.Fatalf("the other token after a revocation: %v", err)
	}
}
