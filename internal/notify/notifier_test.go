package notify_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/notify/notifytest"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// wait is the generous deadline for anything the tests wait for.
const wait = 30 * time.Second

type bundle struct {
	t   *testing.T
	ctx context.Context
	st  *sqlite.Store
	q   *queue.Queue
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bumpserve.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateUser(ctx, "alice", store.RoleUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	return &bundle{t: t, ctx: ctx, st: st, q: queue.New(queue.Config{Store: st})}
}

// start runs a notifier over the bundle's store until the test ends.
func (b *bundle) start(cfg notify.Config) {
	cfg.Store, cfg.Ended = b.st, b.q.Events.Ended()
	n := notify.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	b.t.Cleanup(func() { cancel(); <-done })
}

// run submits a job asking for ts and runs it to state through the queue.
func (b *bundle) run(name string, state job.State, ts ...job.Target) *job.Job {
	b.t.Helper()
	j, err := b.q.Submit(b.ctx, queue.Submission{Owner: "alice", Name: name, Service: "sleep", Spec: json.RawMessage(`{}`), CPUs: 1, Notify: ts}, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	held, err := b.q.Claim(b.ctx, queue.ClaimRequest{Worker: "w", FreeCPUs: 1, Max: 1})
	if err != nil || len(held) != 1 || held[0].ID != j.ID {
		b.t.Fatalf("claim: %v, %v", held, err)
	}
	done, err := b.q.Finish(b.ctx, j.ID, held[0].Lease.Token, queue.Result{State: state, Reason: "because"})
	if err != nil {
		b.t.Fatal(err)
	}
	return done
}

// log waits until job id's delivery log satisfies ok.
func (b *bundle) log(id int64, what string, ok func(*store.JobNotifications) bool) *store.JobNotifications {
	b.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		jn, err := b.st.JobNotifications(b.ctx, id)
		if err != nil {
			b.t.Fatal(err)
		}
		if ok(jn) {
			return jn
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("job %d: %s: not within %v; notifications %+v", id, what, wait, jn)
		}
		time.Sleep(20 * time.Millisecond) // polling the store with a deadline
	}
}

func settled(jn *store.JobNotifications) bool {
	for _, n := range jn.Notifications {
		if n.Status == store.NotifyWaiting {
			return false
		}
	}
	return len(jn.Notifications) > 0
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("%s: nothing within %v", what, wait)
		panic("unreachable")
	}
}

// TestJobEndsMailAndWebhook: a job that ends sends a real email through
// a real SMTP server (STARTTLS, AUTH PLAIN) and a signed POST of the job
// to an HTTPS receiver; both are logged as sent.
func TestJobEndsMailAndWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := notifytest.StartReceiver(t, func(int) int { return 204 })
	srv := notifytest.StartSMTP(t, rc.TLS.Clone(), "mailer", "s3cret")
	mailer, err := notify.NewMailer(notify.MailConfig{Server: "smtp://mailer:s3cret@" + srv.Addr, From: "queue@example.org", RootCAs: notifytest.Trust(rc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := mailer.Check(b.ctx); err != nil {
		t.Fatalf("check a working server: %v", err)
	}
	b.start(notify.Config{Mailer: mailer, Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(rc), AllowPrivate: true})})

	j := b.run("fit 1", job.Complete, job.Target{Channel: job.ChannelEmail, Destination: "alice@example.org"},
		job.Target{Channel: job.ChannelWebhook, Destination: rc.URL + "/hook"})

	m := receive(t, srv.Mails, "email")
	if m.From != "queue@example.org" || m.To != "alice@example.org" || !m.TLS || m.User != "mailer" {
		t.Errorf("mail from %q to %q, tls %v, user %q; want queue@example.org to alice@example.org over TLS as mailer", m.From, m.To, m.TLS, m.User)
	}
	if !strings.Contains(m.Data, "Subject: bumpserve job ") || !strings.Contains(m.Data, "COMPLETE: fit 1") || !strings.Contains(m.Data, "Reason: because") {
		t.Errorf("mail does not say which job ended how:\n%s", m.Data)
	}

	h := receive(t, rc.Got, "webhook")
	secret, err := b.st.WebhookSecret(b.ctx, &store.WebhookSecretParams{User: "alice", Fresh: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Signature != notify.Sign(secret, h.Body) || secret == "unused" {
		t.Errorf("signature %q does not match the body under alice's secret", h.Signature)
	}
	if h.Signature == notify.Sign("other", h.Body) {
		t.Errorf("signature does not depend on the secret")
	}
	var got job.Job
	if err := json.Unmarshal(h.Body, &got); err != nil || got.ID != j.ID || got.State != job.Complete || got.Reason != "because" || got.Owner != "alice" {
		t.Errorf("webhook body %s (%v); want job %d COMPLETE", h.Body, err, j.ID)
	}
	jn := b.log(j.ID, "both sent", settled)
	for _, n := range jn.Notifications {
		if n.Status != store.NotifySent || n.Attempts != 1 {
			t.Errorf("notification %+v; want sent at the first attempt", n)
		}
	}
	if len(jn.Log) != 2 {
		t.Errorf("log %+v; want one attempt each", jn.Log)
	}
}

// TestSlowAndFailingReceivers: a receiver that hangs and one that fails
// hold up neither the jobs nor the notifications to others; the failing
// one is retried with back-off and given up after the last attempt,
// every attempt in the job's log.
func TestSlowAndFailingReceivers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	slow := notifytest.StartReceiver(t, func(int) int { <-release; return 200 })
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	failing := notifytest.StartReceiver(t, func(int) int { return 503 })
	fast := notifytest.StartReceiver(t, func(int) int { return 200 })
	b.start(notify.Config{Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(slow), AllowPrivate: true, Timeout: time.Minute}),
		RetryBase: 10 * time.Millisecond, RetryCap: 40 * time.Millisecond, MaxAttempts: 4, Poll: 20 * time.Millisecond})

	hold := b.run("slow", job.Complete, job.Target{Channel: job.ChannelWebhook, Destination: slow.URL + "/a"})
	// A second job to the slow receiver waits behind the first, never
	// beside it; it must not hold up the others either.
	hold2 := b.run("slow 2", job.Error, job.Target{Channel: job.ChannelWebhook, Destination: slow.URL + "/a"})
	bad := b.run("failing", job.Error, job.Target{Channel: job.ChannelWebhook, Destination: failing.URL + "/b"})
	good := b.run("fast", job.Cancel, job.Target{Channel: job.ChannelWebhook, Destination: fast.URL + "/c"})
	for _, j := range []*job.Job{hold, hold2, bad, good} {
		if !j.State.Terminal() {
			t.Fatalf("job %d is %s; the notifier must not hold a job", j.ID, j.State)
		}
	}

	h := receive(t, fast.Got, "webhook to the fast receiver")
	var got job.Job
	if json.Unmarshal(h.Body, &got); got.ID != good.ID {
		t.Errorf("fast receiver got job %d; want %d", got.ID, good.ID)
	}
	jn := b.log(bad.ID, "failing receiver given up", settled)
	if n := jn.Notifications[0]; n.Status != store.NotifyFailed || n.Attempts != 4 {
		t.Errorf("failing notification %+v; want failed after 4 attempts", n)
	}
	if len(jn.Log) != 4 {
		t.Fatalf("log %+v; want 4 attempts", jn.Log)
	}
	for i, d := range jn.Log {
		want := store.NotifyRetry
		if i == 3 {
			want = store.NotifyFailed
		}
		if d.Attempt != i+1 || d.Status != want || !strings.Contains(d.Error, "503") {
			t.Errorf("log[%d] = %+v; want attempt %d %s with the 503", i, *d, i+1, want)
		}
		if i > 0 && d.At.Before(jn.Log[i-1].At.Add(10*time.Millisecond)) {
			t.Errorf("attempt %d at %v came before the back-off after %v", i+1, d.At, jn.Log[i-1].At)
		}
	}
	// All of that while the slow receiver still holds its first request.
	if jn, _ := b.st.JobNotifications(b.ctx, hold.ID); len(jn.Log) != 0 {
		t.Fatalf("slow receiver's log %+v before it answered", jn.Log)
	}
	close(release)
	b.log(hold.ID, "slow receiver answered", settled)
	jn = b.log(hold2.ID, "slow receiver's second", settled)
	if jn.Notifications[0].Status != store.NotifySent {
		t.Errorf("second to the slow receiver: %+v", jn.Notifications[0])
	}
}

// TestPendingAcrossRestart: a job that ended while no notifier ran (a
// controller down) is notified when one starts.
func TestPendingAcrossRestart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := notifytest.StartReceiver(t, func(int) int { return 200 })
	j := b.run("while down", job.Complete, job.Target{Channel: job.ChannelWebhook, Destination: rc.URL + "/"})
	b.start(notify.Config{Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(rc), AllowPrivate: true})})
	var got job.Job
	if h := receive(t, rc.Got, "webhook after the start"); json.Unmarshal(h.Body, &got) != nil || got.ID != j.ID {
		t.Errorf("got %s; want job %d", h.Body, j.ID)
	}
}

// TestPrivateReceiverRefused: without --allow-private-webhooks a receiver
// on loopback is refused when connecting, once, with the reason logged.
func TestPrivateReceiverRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := notifytest.StartReceiver(t, func(int) int { return 200 })
	b.start(notify.Config{Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(rc)})})
	j := b.run("inside", job.Complete, job.Target{Channel: job.ChannelWebhook, Destination: rc.URL + "/"})
	jn := b.log(j.ID, "refused", settled)
	if n := jn.Notifications[0]; n.Status != store.NotifyFailed || n.Attempts != 1 || len(jn.Log) != 1 || !strings.Contains(jn.Log[0].Error, "allow-private-webhooks") {
		t.Fatalf("notifications %+v log %+v; want failed at once naming --allow-private-webhooks", jn.Notifications[0], jn.Log)
	}
	select {
	case h := <-rc.Got:
		t.Fatalf("the private receiver got %s", h.Body)
	default:
	}
}

// TestMailerChecks: bad --smtp values and an unreachable server are
// refused with the flag or the address named.
func TestMailerChecks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ server, from, want string }{
		{"ftp://host", "a@b.org", "--smtp: scheme"},
		{"smtp://", "a@b.org", "--smtp:"},
		{"smtp://host/path", "a@b.org", "--smtp:"},
		{"host:25", "not an address", "--smtp-from:"},
	} {
		if _, err := notify.NewMailer(notify.MailConfig{Server: c.server, From: c.from}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewMailer(%q, %q) = %v; want an error with %q", c.server, c.from, err, c.want)
		}
	}
	if _, err := notify.NewMailer(notify.MailConfig{Server: "smtp://u:hunter2@host/x", From: "a@b.org"}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	// Port 1: nothing listens there.
	m, err := notify.NewMailer(notify.MailConfig{Server: "smtp://127.0.0.1:1", From: "a@b.org", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("check of an unreachable server = %v; want an error naming it", err)
	}
}
