package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/notify/notifytest"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestBrowserNotify: the submit form's notify field refuses a URL that is
// not https beside the field, keeps what was typed, and with an https
// receiver the job's end is posted there; the job's page then shows its
// owner the notification and its delivery log.
func TestBrowserNotify(t *testing.T) {
	rc := notifytest.StartReceiver(t, func(int) int { return 200 })
	env := testenv.Start(t, controller.Config{Workers: 1, Notifications: notify.Config{
		Webhooks: notify.NewWebhooks(notify.WebhookConfig{RootCAs: notifytest.Trust(rc), AllowPrivate: true}),
	}})
	alice := env.User("alice", store.RoleUser)
	ctx := startBrowser(t)
	signIn(t, ctx, env.URL, alice)

	step(t, ctx, "fill in the form with an http webhook",
		chromedp.Navigate(env.URL+"/ui/submit"),
		chromedp.WaitVisible(chromedp.ID("model")),
		chromedp.SendKeys(chromedp.CSS("#fit-form #name"), "told"),
		chromedp.SendKeys(chromedp.ID("model"), "a*x"),
		chromedp.SendKeys(chromedp.CSS("input[name=p0_name]"), "a"),
		chromedp.SendKeys(chromedp.CSS("input[name=p0_value]"), "1"),
		chromedp.SetValue(chromedp.ID("data"), "1 2\n2 4.1\n3 5.9\n"),
		chromedp.SendKeys(chromedp.CSS("#fit-form #notify"), "http://hooks.example.org/x"),
		chromedp.Click(chromedp.ID("submit-fit")),
		chromedp.WaitVisible(chromedp.ID("notify-error")))
	if msg := testenv.Eval[string](t, ctx, `document.getElementById("notify-error").textContent`); !strings.Contains(msg, "https") {
		t.Errorf("notify error %q; want it to say https is needed", msg)
	}
	if v := testenv.Eval[string](t, ctx, `document.querySelector("#fit-form #notify").value`); v != "http://hooks.example.org/x" {
		t.Errorf("the form lost the notify field: %q", v)
	}
	step(t, ctx, "correct the webhook and submit",
		chromedp.SetValue(chromedp.CSS("#fit-form #notify"), rc.URL+"/told"),
		chromedp.Click(chromedp.ID("submit-fit")), chromedp.WaitVisible(chromedp.ID("state")))

	var h notifytest.Hook
	select {
	case h = <-rc.Got:
	case <-time.After(time.Minute):
		t.Fatal("no webhook within a minute")
	}
	var got job.Job
	if err := json.Unmarshal(h.Body, &got); err != nil || got.Name != "told" || got.State != job.Complete {
		t.Fatalf("webhook body %s; want the job told, COMPLETE", h.Body)
	}
	// The page reloads itself until the job ended; the log may come a
	// moment after the POST arrived, so reload until it is there.
	waitFor(t, ctx, 30*time.Second, "the job page shows the delivery", `(() => {
		const s = document.querySelector("#notifications .notify-status");
		if (s && s.textContent === "sent") return true;
		if (document.getElementById("state").textContent === "COMPLETE") location.reload();
		return false;
	})()`)
	cells := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#notifications table tbody td")].map(td => td.textContent.trim())`)
	if len(cells) != 6 || cells[1] != "webhook" || cells[2] != rc.URL+"/told" || cells[3] != "1" || cells[4] != "sent" {
		t.Errorf("delivery log row %q; want webhook to the receiver, attempt 1, sent", cells)
	}
}
