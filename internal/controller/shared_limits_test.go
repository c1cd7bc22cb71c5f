package controller_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A drain made through one controller's admin API stops the named
// worker's claims through another controller sharing the store, although
// that one had already cached its (empty) drain list; a resume through
// the first lets them take jobs again.
func TestDrainHoldsAcrossControllers(t *testing.T) {
	t.Parallel()
	url, data := pgtest.URL(t), t.TempDir()
	front := testenv.Start(t, controller.Config{Store: url, Data: data, Workers: 0, Name: "front"})
	back := testenv.Start(t, controller.Config{Store: url, Data: data, Workers: 0, Name: "back"})
	admin := front.Client(front.AdminToken)
	farm := front.User("farm", store.RoleWorker)
	ctx := context.Background()
	claimVia := func(env *testenv.Env, free int) []api.ClaimedJob {
		t.Helper()
		js, err := env.Client(farm).Claim(ctx, api.ClaimRequest{Name: "node1", Slots: 1, Free: free})
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	// The front hears of node1, so its admin API knows it; the back
	// loads its drain cache.
	claimVia(front, 0)
	if back.C.Queue.IsDrained(ctx, "node1") {
		t.Fatal("node1 drained before any drain")
	}

	if _, err := admin.DrainWorker(ctx, "node1"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the back sees the drain", func() bool { return back.C.Queue.IsDrained(ctx, "node1") })
	j := submit(t, admin, `{"seconds":0}`)
	if js := claimVia(back, 1); len(js) != 0 {
		t.Fatalf("drained node1 claimed %d jobs through the back", len(js))
	}

	if _, err := admin.ResumeWorker(ctx, "node1"); err != nil {
		t.Fatal(err)
	}
	var got []api.ClaimedJob
	testenv.Eventually(t, 10*time.Second, "resumed node1 claims through the back", func() bool {
		got = claimVia(back, 1)
		return len(got) > 0
	})
	if got[0].ID != j.ID {
		t.Fatalf("claimed job %d, want %d", got[0].ID, j.ID)
	}
}

// --submit-rate holds for a user across controllers: with a burst of one
// and no refill during the test, the user's second submission is refused
// with the usual 429 whichever controller it reaches; another user's
// bucket is their own.
func TestSubmitRateHoldsAcrossControllers(t *testing.T) {
	t.Parallel()
	url, data := pgtest.URL(t), t.TempDir()
	slow := server.Config{SubmitRate: 0.001} // one submission, then one per 1000 s
	front := testenv.Start(t, controller.Config{Store: url, Data: data, Workers: 0, Name: "front", Server: slow})
	back := testenv.Start(t, controller.Config{Store: url, Data: data, Workers: 0, Name: "back", Server: slow})
	ann := front.User("ann", store.RoleUser)
	bob := front.User("bob", store.RoleUser)

	submit(t, front.Client(ann), `{"seconds":0}`)
	for _, env := range []*testenv.Env{back, front} {
		_, err := env.Client(ann).Submit(context.Background(), client.Submission{Service: "sleep", Spec: []byte(`{"seconds":0}`)}, nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusTooManyRequests || !strings.Contains(ce.Message, "too many submissions: at most 0.001 per second") {
			t.Fatalf("ann's second submission via %s: %v, want 429 too many submissions", env.URL, err)
		}
	}
	submit(t, back.Client(bob), `{"seconds":0}`)
}
