package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
)

// Two controllers (two pools on one database) claiming at once never hand
// one job to two executors, and between them take every job.
func TestConcurrentClaimsTakeEachJobOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	const n = 400
	for i := range n {
		owner := []string{"u1", "u2", "u3"}[i%3]
		if _, err := a.CreateJob(ctx, &store.CreateJobParams{Owner: owner, Service: "sleep", Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := range 8 {
		s := []store.Store{a, b}[w%2]
		name := []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"}[w]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				js, err := s.ClaimJobs(ctx, &store.ClaimParams{Worker: name, FreeCPUs: 4, Max: 4, Lease: time.Minute, Now: time.Now(), HalfLife: time.Hour})
				if err != nil {
					t.Error(err)
					return
				}
				if len(js) == 0 {
					return
				}
				mu.Lock()
				for _, j := range js {
					if prev, ok := seen[j.ID]; ok {
						t.Errorf("job %d claimed by %s and %s", j.ID, prev, name)
					}
					seen[j.ID] = name
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	counts, err := a.CountJobs(ctx, "")
	if err != nil || len(seen) != n || counts[job.Active] != n {
		t.Fatalf("claimed %d of %d jobs; store counts %v (%v)", len(seen), n, counts, err)
	}
}

// A change made through one store reaches the other's feed, marked as not
// its own; the maker's own feed marks it local.
func TestChangesReachEveryStore(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type seen struct {
		c    store.Change
		from string
	}
	got := make(chan seen, 16)
	for name, s := range map[string]store.ChangeFeed{"a": a, "b": b} {
		go s.FollowChanges(ctx, func(c store.Change) { got <- seen{c, name} }, func() {})
	}
	// The feeds start listening asynchronously: make changes until both
	// have heard one, then check the cancel of a running job.
	deadline := time.After(20 * time.Second)
	heard := map[string]bool{}
	var j *job.Job
	for len(heard) < 2 {
		var err error
		if j, err = a.CreateJob(ctx, &store.CreateJobParams{Owner: "o", Service: "sleep", Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			heard[s.from] = true
			if s.c.Local != (s.from == "a") {
				t.Fatalf("change %+v heard by %s: Local wrong", s.c, s.from)
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatalf("feeds heard only %v", heard)
		}
	}
	if _, err := b.CancelJob(ctx, j.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case s := <-got:
			if s.from == "a" && s.c.ID == j.ID && s.c.State == job.Cancel && !s.c.Local && s.c.Owner == "o" {
				return
			}
		case <-deadline:
			t.Fatal("store a never heard of the cancel made through b")
		}
	}
}

// One leader at a time; when it stops (its process dies), another takes
// over.
func TestLeaderTakeover(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	type event struct {
		who     string
		leading bool
	}
	events := make(chan event, 8)
	run := func(s store.Leader, who string, ctx context.Context) {
		s.Lead(ctx, "reaper", func(ctx context.Context) {
			events <- event{who, true}
			<-ctx.Done()
			events <- event{who, false}
		})
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	go run(a, "a", ctxA)
	first := <-events
	go run(b, "b", ctxB)
	if first.who != "a" || !first.leading {
		t.Fatalf("first event %+v", first)
	}
	select {
	case e := <-events:
		t.Fatalf("second leader while the first leads: %+v", e)
	case <-time.After(2500 * time.Millisecond): // b tries every second: it has tried
	}
	stopA()
	if e := <-events; e != (event{"a", false}) {
		t.Fatalf("after stopping a: %+v", e)
	}
	select {
	case e := <-events:
		if e != (event{"b", true}) {
			t.Fatalf("takeover: %+v", e)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("b never took over")
	}
}
