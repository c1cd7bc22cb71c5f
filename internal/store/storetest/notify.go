package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// testNotifications covers the outbox: notifications stored with their
// job become due when it ends, are leased to one claimer at a time, skip
// busy destinations, retry at their time and settle with a log.
func testNotifications(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	mail := job.Target{Channel: job.ChannelEmail, Destination: "a@example.org"}
	hook := job.Target{Channel: job.ChannelWebhook, Destination: "https://hooks.example.org/x"}
	js, err := b.s.CreateJobs(b.ctx, []*store.CreateJobParams{
		{Owner: "a", Service: "sleep", Spec: json.RawMessage(`{}`), MaxAttempts: 1, Now: t0, Notify: []job.Target{mail, hook}},
		{Owner: "a", Service: "sleep", Spec: json.RawMessage(`{}`), MaxAttempts: 1, Now: t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	j, quiet := js[0], js[1]
	claim := func(token string, now time.Time, busy ...string) []*store.Notification {
		t.Helper()
		ns, err := b.s.ClaimNotifications(b.ctx, &store.ClaimNotificationsParams{Token: token, Lease: time.Minute, Max: 10, Now: now, Busy: busy})
		if err != nil {
			t.Fatalf("claim notifications: %v", err)
		}
		return ns
	}
	if ns := claim("early", t0); len(ns) != 0 {
		t.Fatalf("claimed %d notifications of a PENDING job", len(ns))
	}
	// Both jobs end; only the one that asked has notifications.
	running := b.claim("w", 2, 2, t0)
	for _, r := range running {
		if _, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: r.ID, Token: r.Lease.Token, State: job.Complete, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// A busy destination is left for later.
	ns := claim("c1", t0, hook.Destination)
	if len(ns) != 1 || ns[0].Destination != mail.Destination || ns[0].JobID != j.ID || ns[0].Attempts != 1 || ns[0].Channel != job.ChannelEmail {
		t.Fatalf("claim with the webhook busy = %+v; want the email, attempt 1", ns)
	}
	email := ns[0]
	ns = claim("c2", t0)
	if len(ns) != 1 || ns[0].Destination != hook.Destination {
		t.Fatalf("second claimer got %+v; want only the webhook (the email is leased)", ns)
	}
	webhook := ns[0]
	if ns := claim("c3", t0.Add(30*time.Second)); len(ns) != 0 {
		t.Fatalf("claimed %d notifications under live leases", len(ns))
	}

	// The email is sent; the webhook fails once and is due again later.
	if err := b.s.RecordDelivery(b.ctx, &store.DeliveryParams{ID: email.ID, Token: "c2", Attempt: 1, Status: store.NotifySent, Now: t0}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("record under another claimer's token: %v; want ErrLeaseLost", err)
	}
	if err := b.s.RecordDelivery(b.ctx, &store.DeliveryParams{ID: email.ID, Token: "c1", Attempt: 1, Status: store.NotifySent, Now: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	retryAt := t0.Add(2 * time.Minute)
	if err := b.s.RecordDelivery(b.ctx, &store.DeliveryParams{ID: webhook.ID, Token: "c2", Attempt: 1, Status: store.NotifyRetry,
		Error: "HTTP 500", Now: t0.Add(2 * time.Second), NextAt: retryAt}); err != nil {
		t.Fatal(err)
	}
	if ns := claim("c4", retryAt.Add(-time.Second)); len(ns) != 0 {
		t.Fatalf("claimed %+v before its retry time", ns)
	}
	ns = claim("c5", retryAt)
	if len(ns) != 1 || ns[0].ID != webhook.ID || ns[0].Attempts != 2 {
		t.Fatalf("claim at the retry time = %+v; want the webhook, attempt 2", ns)
	}
	if err := b.s.RecordDelivery(b.ctx, &store.DeliveryParams{ID: webhook.ID, Token: "c5", Attempt: 2, Status: store.NotifyFailed,
		Error: "HTTP 500", Now: retryAt}); err != nil {
		t.Fatal(err)
	}
	if ns := claim("c6", retryAt.Add(time.Hour)); len(ns) != 0 {
		t.Fatalf("claimed settled notifications: %+v", ns)
	}

	got, err := b.s.JobNotifications(b.ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Notifications) != 2 || got.Notifications[0].Status != store.NotifySent || got.Notifications[1].Status != store.NotifyFailed ||
		got.Notifications[1].Attempts != 2 {
		t.Fatalf("notifications = %+v; want email sent, webhook failed after 2 attempts", got.Notifications)
	}
	want := []store.Delivery{
		{At: t0.Add(time.Second), Channel: job.ChannelEmail, Destination: mail.Destination, Attempt: 1, Status: store.NotifySent},
		{At: t0.Add(2 * time.Second), Channel: job.ChannelWebhook, Destination: hook.Destination, Attempt: 1, Status: store.NotifyRetry, Error: "HTTP 500"},
		{At: retryAt, Channel: job.ChannelWebhook, Destination: hook.Destination, Attempt: 2, Status: store.NotifyFailed, Error: "HTTP 500"},
	}
	if len(got.Log) != len(want) {
		t.Fatalf("log = %+v; want %d entries", got.Log, len(want))
	}
	for i, d := range got.Log {
		if !d.At.Equal(want[i].At) || d.Channel != want[i].Channel || d.Destination != want[i].Destination ||
			d.Attempt != want[i].Attempt || d.Status != want[i].Status || d.Error != want[i].Error {
			t.Errorf("log[%d] = %+v; want %+v", i, *d, want[i])
		}
	}
	if got, err := b.s.JobNotifications(b.ctx, quiet.ID); err != nil || len(got.Notifications) != 0 || len(got.Log) != 0 {
		t.Fatalf("a job without notify has %+v, %v", got, err)
	}

	// A finished job put back in the queue (an admin's requeue) will end
	// again: its notifications wait for that end and go out once more,
	// counted afresh; the log keeps the first run's deliveries.
	later := retryAt.Add(time.Hour)
	if _, err := b.s.RequeueJob(b.ctx, j.ID, later); err != nil {
		t.Fatal(err)
	}
	if ns := claim("c7", later); len(ns) != 0 {
		t.Fatalf("claimed %+v of a requeued job still PENDING", ns)
	}
	rerun := b.claim("w", 1, 1, later)
	if len(rerun) != 1 || rerun[0].ID != j.ID {
		t.Fatalf("claim after requeue = %+v; want job %d", rerun, j.ID)
	}
	if _, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: j.ID, Token: rerun[0].Lease.Token, State: job.Error, Reason: "again", Now: later}); err != nil {
		t.Fatal(err)
	}
	ns = claim("c8", later)
	if len(ns) != 2 || ns[0].Attempts != 1 || ns[1].Attempts != 1 {
		t.Fatalf("claim after the rerun ended = %+v; want both notifications again, attempt 1", ns)
	}
	for _, n := range ns {
		if err := b.s.RecordDelivery(b.ctx, &store.DeliveryParams{ID: n.ID, Token: "c8", Attempt: 1, Status: store.NotifySent, Now: later}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := b.s.JobNotifications(b.ctx, j.ID); err != nil || len(got.Log) != len(want)+2 {
		t.Fatalf("log after the rerun = %+v, %v; want %d entries", got, err, len(want)+2)
	}

	// A lease that ran out (its claimer died) is claimed again, and the
	// old claimer's late record is refused.
	k, err := b.s.CreateJob(b.ctx, &store.CreateJobParams{Owner: "a", Service: "sleep", MaxAttempts: 1, Now: t0, Notify: []job.Target{mail}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.CancelJob(b.ctx, k.ID, t0); err != nil {
		t.Fatal(err)
	}
	first := claim("dead", t0)
	if len(first) != 1 || first[0].JobID != k.ID {
		t.Fatalf("claim for a cancelled job = %+v", first)
	}
	again := claim("alive", t0.Add(2*time.Minute))
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 2 {
		t.Fatalf("claim after the lease ran out = %+v; want it again, attempt 2", again)
	}
	if err := b.s.RecordDelivery(b.ctx, &store.DeliveryParams{ID: first[0].ID, Token: "dead", Attempt: 1, Status: store.NotifySent, Now: t0}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("late record of an expired lease: %v; want ErrLeaseLost", err)
	}
	// Deleting a job takes its notifications with it.
	if err := b.s.DeleteJob(b.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := b.s.JobNotifications(b.ctx, k.ID); err != nil || len(got.Notifications) != 0 {
		t.Fatalf("notifications of a deleted job: %+v, %v", got, err)
	}
}

// testNotifySettings covers a user's default notification and webhook
// secret.
func testNotifySettings(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	if _, err := b.s.CreateUser(b.ctx, "alice", store.RoleUser, t0); err != nil {
		t.Fatal(err)
	}
	ns, err := b.s.NotifySettings(b.ctx, "alice")
	if err != nil || !ns.Default.Empty() || ns.HasSecret {
		t.Fatalf("fresh settings = %+v, %v", ns, err)
	}
	if _, err := b.s.NotifySettings(b.ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("settings of no user: %v; want ErrNotFound", err)
	}
	def := job.Notify{Email: "alice@example.org", Webhook: "https://h.example.org/"}
	if err := b.s.SetNotifyDefault(b.ctx, "alice", def); err != nil {
		t.Fatal(err)
	}
	if err := b.s.SetNotifyDefault(b.ctx, "nobody", def); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("default for no user: %v; want ErrNotFound", err)
	}
	s1, err := b.s.WebhookSecret(b.ctx, &store.WebhookSecretParams{User: "alice", Fresh: "one"})
	if err != nil || s1 != "one" {
		t.Fatalf("first secret = %q, %v", s1, err)
	}
	s2, err := b.s.WebhookSecret(b.ctx, &store.WebhookSecretParams{User: "alice", Fresh: "two"})
	if err != nil || s2 != "one" {
		t.Fatalf("secret asked again = %q, %v; want the first kept", s2, err)
	}
	s3, err := b.s.WebhookSecret(b.ctx, &store.WebhookSecretParams{User: "alice", Fresh: "three", Rotate: true})
	if err != nil || s3 != "three" {
		t.Fatalf("rotated secret = %q, %v", s3, err)
	}
	if _, err := b.s.WebhookSecret(b.ctx, &store.WebhookSecretParams{User: "nobody", Fresh: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("secret for no user: %v; want ErrNotFound", err)
	}
	ns, err = b.s.NotifySettings(b.ctx, "alice")
	if err != nil || ns.Default != def || !ns.HasSecret {
		t.Fatalf("settings = %+v, %v; want %+v with a secret", ns, err, def)
	}
	// Setting the default keeps the secret, and clearing it too.
	if err := b.s.SetNotifyDefault(b.ctx, "alice", job.Notify{}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.s.WebhookSecret(b.ctx, &store.WebhookSecretParams{User: "alice", Fresh: "four"}); err != nil || s != "three" {
		t.Fatalf("secret after clearing the default = %q, %v", s, err)
	}
}
