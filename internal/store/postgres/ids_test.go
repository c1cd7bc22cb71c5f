package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
)

// Reservations and store-picked ids from two pools at once never
// overlap: every reserved range is contiguous and its own, and no job
// the store creates lands in one.
func TestReservedIDsNeverOverlap(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	var mu sync.Mutex
	owner := map[int64]string{} // id → who got it
	take := func(id int64, who string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := owner[id]; ok {
			t.Errorf("id %d given to %s and to %s", id, prev, who)
		}
		owner[id] = who
	}
	var wg sync.WaitGroup
	for w, s := range []store.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if w%2 == 0 {
					first, err := s.ReserveJobIDs(ctx, 5)
					if err != nil {
						t.Error(err)
						return
					}
					for id := first; id < first+5; id++ {
						take(id, "a reservation")
					}
					continue
				}
				j, err := s.CreateJob(ctx, &store.CreateJobParams{Owner: "o", Service: "sleep", Now: time.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				take(j.ID, "a created job")
			}
		}()
	}
	wg.Wait()
}

// A revocation through one controller moves the auth version every other
// controller reads, so their token caches drop the token at once.
func TestRevocationReachesEveryStore(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	now := time.Now()
	if _, err := a.CreateUser(ctx, "u", store.RoleUser, now); err != nil {
		t.Fatal(err)
	}
	tok, err := a.CreateToken(ctx, "u", "", []byte("hash"), now)
	if err != nil {
		t.Fatal(err)
	}
	before, err := b.AuthVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(ctx, tok.ID, now); err != nil {
		t.Fatal(err)
	}
	if after, err := b.AuthVersion(ctx); err != nil || after == before {
		t.Fatalf("auth version seen by the other store: %q before, %q, %v after a revocation", before, after, err)
	}
}
