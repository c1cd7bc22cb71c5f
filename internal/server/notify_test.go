package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/notify/notifytest"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestNotificationsEndToEnd: jobs run by a real controller's local slots
// end and tell their owner, by a real email through a real SMTP server and
// by signed POSTs to real HTTPS receivers. A receiver that hangs holds up
// neither its job, nor the other jobs, nor their notifications; the owner
// sees each job's delivery log, and nobody else does.
func TestNotificationsEndToEnd(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := notifytest.StartReceiver(t, func(int) int { <-release; return 200 })
	fast := notifytest.StartReceiver(t, func(int) int { return 200 })
	mta := notifytest.StartSMTP(t, slow.TLS.Clone(), "", "")
	mailer, err := notify.NewMailer(notify.MailConfig{Server: mta.Addr, From: "queue@example.org", RootCAs: notifytest.Trust(slow)})
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, controller.Config{Workers: 2, Notifications: notify.Config{
		Mailer:   mailer,
		Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(slow), AllowPrivate: true, Timeout: time.Minute}),
	}, Server: server.Config{}})
	// Runs before the controller stops (cleanups run last first): the
	// hanging request ends, so the stop need not wait for its timeout.
	t.Cleanup(func() { close(release) })
	alice := env.Client(env.User("alice", store.RoleUser))
	bob := env.Client(env.User("bob", store.RoleUser))
	ctx := context.Background()

	submit := func(name string, n *client.Notify) *client.Job {
		t.Helper()
		j, err := alice.Submit(ctx, client.Submission{Name: name, Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`), Notify: n}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	hung := submit("hung", &client.Notify{Webhook: slow.URL + "/hook"})
	mailed := submit("mailed", &client.Notify{Email: "alice@example.org", Webhook: fast.URL + "/hook"})

	// The job whose receiver hangs still completes, as does the other.
	for _, j := range []*client.Job{hung, mailed} {
		testenv.Eventually(t, time.Minute, fmt.Sprintf("job %d COMPLETE", j.ID), func() bool {
			got, err := alice.Get(ctx, j.ID)
			return err == nil && got.State == job.Complete
		})
	}
	// And the other job's notifications arrive meanwhile.
	select {
	case m := <-mta.Mails:
		if m.To != "alice@example.org" || !m.TLS || !strings.Contains(m.Data, fmt.Sprintf("bumpserve job %d COMPLETE: mailed", mailed.ID)) {
			t.Errorf("mail to %q (TLS %v):\n%s", m.To, m.TLS, m.Data)
		}
	case <-time.After(time.Minute):
		t.Fatal("no email within a minute")
	}
	var h notifytest.Hook
	select {
	case h = <-fast.Got:
	case <-time.After(time.Minute):
		t.Fatal("no webhook within a minute")
	}
	secret, err := alice.WebhookSecret(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if h.Signature != notify.Sign(secret.Secret, h.Body) {
		t.Errorf("signature %q does not verify with alice's secret", h.Signature)
	}
	var body job.Job
	if err := json.Unmarshal(h.Body, &body); err != nil || body.ID != mailed.ID || body.State != job.Complete {
		t.Errorf("webhook body %s; want job %d COMPLETE", h.Body, mailed.ID)
	}

	// The owner's delivery log; another user cannot tell the job exists.
	testenv.Eventually(t, time.Minute, "both notifications logged sent", func() bool {
		jn, err := alice.JobNotifications(ctx, mailed.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(jn.Log) == 2 && jn.Log[0].Status == store.NotifySent && jn.Log[1].Status == store.NotifySent
	})
	if _, err := bob.JobNotifications(ctx, mailed.ID); !client.IsNotFound(err) {
		t.Errorf("bob reading alice's notifications: %v; want 404", err)
	}
	if jn, err := alice.JobNotifications(ctx, hung.ID); err != nil || len(jn.Log) != 0 || len(jn.Notifications) != 1 {
		t.Errorf("the hung receiver's notifications %+v, %v; want one, no attempt finished yet", jn, err)
	}
}

// TestNotifyDefault: a job without notify gets its owner's default; an
// empty notify opts out of it.
func TestNotifyDefault(t *testing.T) {
	t.Parallel()
	rc := notifytest.StartReceiver(t, func(int) int { return 204 })
	env := testenv.Start(t, controller.Config{Workers: 1, Notifications: notify.Config{
		Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(rc), AllowPrivate: true}),
	}})
	alice := env.Client(env.User("alice", store.RoleUser))
	ctx := context.Background()
	if ns, err := alice.SetNotifyDefault(ctx, client.Notify{Webhook: rc.URL + "/default"}); err != nil || ns.Default.Webhook != rc.URL+"/default" {
		t.Fatalf("set default: %+v, %v", ns, err)
	}
	quiet, err := alice.Submit(ctx, client.Submission{Service: "sleep", Notify: &client.Notify{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	loud, err := alice.Submit(ctx, client.Submission{Service: "sleep"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var h notifytest.Hook
	select {
	case h = <-rc.Got:
	case <-time.After(time.Minute):
		jn, err := alice.JobNotifications(ctx, loud.ID)
		t.Fatalf("no webhook within a minute; notifications %+v, %v", jn, err)
	}
	var got job.Job
	if json.Unmarshal(h.Body, &got); got.ID != loud.ID {
		t.Errorf("default webhook got job %d; want %d", got.ID, loud.ID)
	}
	if jn, err := alice.JobNotifications(ctx, quiet.ID); err != nil || len(jn.Notifications) != 0 {
		t.Errorf("job with notify {} has %+v, %v; want none", jn, err)
	}
}

// TestOldClientNotify: the old client's "notify", an email address the
// old server was to write to, is honoured when this server sends email;
// one it cannot deliver leaves the job as it was (an old client cannot
// show an error about a field it always sends).
func TestOldClientNotify(t *testing.T) {
	t.Parallel()
	hook := notifytest.StartReceiver(t, func(int) int { return 200 })
	mta := notifytest.StartSMTP(t, hook.TLS.Clone(), "", "")
	mailer, err := notify.NewMailer(notify.MailConfig{Server: mta.Addr, From: "queue@example.org", RootCAs: notifytest.Trust(hook)})
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, controller.Config{Workers: 1, Notifications: notify.Config{Mailer: mailer}})
	tok := env.User("olduser", store.RoleUser)
	alice := env.Client(tok)
	ctx := context.Background()
	submit := func(notify string) int64 {
		t.Helper()
		body := fmt.Sprintf(`{"name":"old","service":"sleep","data":{"seconds":0},"notify":%q}`, notify)
		code, out, _ := call(t, "POST", env.URL+"/jobs.json", tok, "application/json", strings.NewReader(body))
		var sub struct{ ID int64 }
		if json.Unmarshal(out, &sub); code != 200 || sub.ID == 0 {
			t.Fatalf("old submit with notify %q: %d %s", notify, code, out)
		}
		return sub.ID
	}
	mailed := submit("carol@example.org")
	unsendable := submit("http://hooks.example.org/plain-http")
	for _, id := range []int64{mailed, unsendable} {
		testenv.Eventually(t, time.Minute, fmt.Sprintf("job %d COMPLETE", id), func() bool {
			got, err := alice.Get(ctx, id)
			return err == nil && got.State == job.Complete
		})
	}
	select {
	case m := <-mta.Mails:
		if m.To != "carol@example.org" || !strings.Contains(m.Data, fmt.Sprintf("bumpserve job %d COMPLETE", mailed)) {
			t.Errorf("mail to %q:\n%s", m.To, m.Data)
		}
	case <-time.After(time.Minute):
		t.Fatal("no email for the old client's notify within a minute")
	}
	if jn, err := alice.JobNotifications(ctx, unsendable); err != nil || len(jn.Notifications) != 0 {
		t.Errorf("notifications of the job whose notify cannot be sent: %+v, %v; want none", jn, err)
	}
}
