package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestBrowserKeepAndUsage: in a real chromium, a user pins a finished
// job from its page and unpins it again (a CSRF-guarded form), and sees
// her own CPU time and disk on the jobs page as the API reports them; the
// admin page lists every user's.
func TestBrowserKeepAndUsage(t *testing.T) {
	env := testenv.Start(t, controller.Config{Workers: 1, Server: server.Config{UserDiskMB: 50}, RetainInterval: 50 * time.Millisecond})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)
	ctx := context.Background()
	id := sleepJob(t, cl, 0.5)
	var j *client.Job
	testenv.Eventually(t, 20*time.Second, "the job completes and its directory is measured", func() bool {
		var err error
		j, err = cl.Get(ctx, id)
		return err == nil && j.State == job.Complete && j.DiskBytes > 0
	})
	bctx := startBrowser(t)
	signIn(t, bctx, env.URL, alice)

	t.Run("own usage on the jobs page", func(t *testing.T) {
		u, err := cl.Usage(ctx, "", "")
		if err != nil || len(u.Users) != 1 {
			t.Fatalf("usage: %+v, %v", u, err)
		}
		step(t, bctx, "open the jobs page", chromedp.Navigate(env.URL+"/ui/jobs"), chromedp.WaitVisible(chromedp.ID("my-usage")))
		// The job ran 0.5 s on one CPU: about half a CPU-second.
		want := fmt.Sprintf("%.1f CPU-seconds", u.Users[0].CPUSeconds)
		if got := testenv.Eval[string](t, bctx, `document.getElementById("my-cpu").textContent`); got != want || want == "0.0 CPU-seconds" {
			t.Errorf("jobs page shows %q of CPU, the API %q", got, want)
		}
		if got := testenv.Eval[string](t, bctx, `document.getElementById("my-quota").textContent`); got != "50.0 MiB" {
			t.Errorf("jobs page shows a quota of %q, want 50.0 MiB", got)
		}
		if got := testenv.Eval[string](t, bctx, `document.getElementById("my-disk").textContent`); got == "" || got == "0 B" {
			t.Errorf("jobs page shows %q on disk; the job's directory holds its output", got)
		}
	})

	t.Run("keep and unpin a job from its page", func(t *testing.T) {
		page := fmt.Sprintf("%s/ui/jobs/%d", env.URL, id)
		step(t, bctx, "open the job page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("keep")))
		if p := testenv.Eval[string](t, bctx, `document.getElementById("keep").getAttribute("aria-pressed")`); p != "false" {
			t.Fatalf("keep button of an unpinned job: aria-pressed=%q", p)
		}
		if tok := testenv.Eval[string](t, bctx, `document.querySelector("#keep-form input[name=csrf_token]").value`); tok == "" {
			t.Fatal("the keep form carries no CSRF token")
		}
		step(t, bctx, "press Keep", chromedp.Click(chromedp.ID("keep")))
		waitFor(t, bctx, 20*time.Second, "the page shows the job kept",
			`document.getElementById("keep") && document.getElementById("keep").getAttribute("aria-pressed") === "true"`)
		if got, _ := cl.Get(ctx, id); !got.Keep {
			t.Fatal("pressing Keep did not pin the job")
		}
		if kept := testenv.Eval[string](t, bctx, `document.getElementById("kept").textContent`); kept == "no" {
			t.Errorf("status still says kept: %q", kept)
		}
		step(t, bctx, "press Unpin", chromedp.Click(chromedp.ID("keep")))
		waitFor(t, bctx, 20*time.Second, "the page shows the job unpinned",
			`document.getElementById("keep") && document.getElementById("keep").getAttribute("aria-pressed") === "false"`)
		if got, _ := cl.Get(ctx, id); got.Keep {
			t.Fatal("pressing the button again did not unpin the job")
		}
	})

	t.Run("everyone's usage on the admin page", func(t *testing.T) {
		actx := startBrowser(t)
		signIn(t, actx, env.URL, env.AdminToken)
		step(t, actx, "open the admin page", chromedp.Navigate(env.URL+"/ui/admin"), chromedp.WaitVisible(chromedp.ID("usage")))
		row := testenv.Eval[string](t, actx, `[...document.querySelectorAll("#usage tbody tr")].map(r => r.textContent).join("|")`)
		if !strings.Contains(row, "alice") || !strings.Contains(row, fmt.Sprintf("%.1f CPU-seconds", j.CPUSeconds)) {
			t.Errorf("admin usage rows: %q; want alice with %.1f CPU-seconds", row, j.CPUSeconds)
		}
		// Per group, the sums of the members' real jobs: alice is in
		// both groups, bob in optics only.
		ac := env.Client(env.AdminToken)
		bob := env.Client(env.User("bob", store.RoleUser))
		bid := sleepJob(t, bob, 0.2)
		var bj *client.Job
		testenv.Eventually(t, 20*time.Second, "bob's job completes", func() bool {
			var err error
			bj, err = bob.Get(ctx, bid)
			return err == nil && bj.State == job.Complete
		})
		for g, ms := range map[string][]string{"optics": {"alice", "bob"}, "bio": {"alice"}} {
			if _, err := ac.CreateGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if _, err := ac.SetGroupMember(ctx, g, m, true); err != nil {
					t.Fatal(err)
				}
			}
		}
		step(t, actx, "reload the admin page", chromedp.Navigate(env.URL+"/ui/admin"), chromedp.WaitVisible(chromedp.ID("group-usage")))
		rows := testenv.Eval[[]string](t, actx, `[...document.querySelectorAll("#group-usage tbody tr")].map(r => [...r.children].map(c => c.textContent).join(";"))`)
		want := []string{
			fmt.Sprintf("bio;1;1;%.1f CPU-seconds", j.CPUSeconds),
			fmt.Sprintf("optics;2;2;%.1f CPU-seconds", j.CPUSeconds+bj.CPUSeconds),
		}
		if len(rows) != 2 || !strings.HasPrefix(rows[0], want[0]) || !strings.HasPrefix(rows[1], want[1]) {
			t.Errorf("admin page's group rows: %q; want them to start %q", rows, want)
		}
	})
}
