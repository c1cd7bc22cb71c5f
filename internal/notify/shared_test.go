package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/notify/notifytest"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
)

// TestTwoControllersSendOnce: two notifiers on one PostgreSQL store (two
// controllers) send every notification exactly once between them.
func TestTwoControllersSendOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := t.Context()
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	st1, st2 := open(), open()
	if _, err := st1.CreateUser(ctx, "alice", store.RoleUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	rc := notifytest.StartReceiver(t, func(int) int { return 200 })
	for _, st := range []*postgres.Store{st1, st2} {
		n := notify.New(notify.Config{Store: st, Poll: 5 * time.Millisecond,
			Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(rc), AllowPrivate: true})})
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { n.Run(rctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}

	q := queue.New(queue.Config{Store: st1})
	const jobs = 20
	ids := map[int64]bool{}
	for i := range jobs {
		j, err := q.Submit(ctx, queue.Submission{Owner: "alice", Service: "sleep", CPUs: 1,
			Notify: []job.Target{{Channel: job.ChannelWebhook, Destination: fmt.Sprintf("%s/j%d", rc.URL, i)}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[j.ID] = true
		held, err := q.Claim(ctx, queue.ClaimRequest{Worker: "w", FreeCPUs: 1, Max: 1})
		if err != nil || len(held) != 1 {
			t.Fatalf("claim: %v %v", held, err)
		}
		if _, err := q.Finish(ctx, held[0].ID, held[0].Lease.Token, queue.Result{State: job.Complete}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int64]int{}
	for range jobs {
		h := receive(t, rc.Got, "webhooks")
		var j job.Job
		if err := json.Unmarshal(h.Body, &j); err != nil || !ids[j.ID] {
			t.Fatalf("webhook %s", h.Body)
		}
		got[j.ID]++
	}
	for id := range ids {
		deadline := time.Now().Add(wait)
		for {
			jn, err := st2.JobNotifications(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if settled(jn) {
				if len(jn.Log) != 1 || jn.Notifications[0].Attempts != 1 {
					t.Errorf("job %d: %+v, log %+v; want one attempt", id, jn.Notifications[0], jn.Log)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d not settled: %+v", id, jn.Notifications)
			}
			time.Sleep(10 * time.Millisecond) // polling the store with a deadline
		}
	}
	select {
	case h := <-rc.Got:
		t.Errorf("a notification was sent twice: %s", h.Body)
	default:
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("job %d notified %d times", id, n)
		}
	}
}
