package deploy_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// browserThroughProxy drives the pages in chromium through the proxy,
// signed in by the site's login (its Basic credentials on every request
// the browser makes, event streams and images included): the pages' links
// and forms stay under /queue, a fit submitted by form completes while
// the page follows it live, its plots load, and a running job is
// cancelled from its page (a form with its CSRF token, posted through
// the proxy).
func browserThroughProxy(t *testing.T, s *site, base string) {
	ctx := testenv.Browser(t, chromedp.WindowSize(1200, 850))
	login := base64.StdEncoding.EncodeToString([]byte("carol:" + siteLogin["carol"]))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Basic " + login}}); err != nil {
		t.Fatal(err)
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFor := func(what, script string) {
		t.Helper()
		testenv.WaitScript(t, ctx, 30*time.Second, what, script)
	}

	do("open the site", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("nav a[href='/queue/ui/submit']")))
	if p := testenv.Eval[string](t, ctx, `location.pathname`); p != "/queue/ui/jobs" {
		t.Fatalf("the site's front page led to %s, want /queue/ui/jobs", p)
	}
	if who := testenv.Eval[string](t, ctx, `document.body.textContent`); !strings.Contains(who, "carol") {
		t.Errorf("the page does not name the site's user carol")
	}
	links := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("a[href], form[action], link[href], script[src]")]
		.map(e => e.getAttribute("href") || e.getAttribute("action") || e.getAttribute("src"))
		.filter(u => u.startsWith("/") && !u.startsWith("/queue/"))`)
	if len(links) > 0 {
		t.Errorf("links outside /queue: %q", links)
	}

	do("fill in the fit form",
		chromedp.Click(chromedp.CSS("nav a[href='/queue/ui/submit']")),
		chromedp.WaitVisible(chromedp.ID("model")),
		chromedp.SendKeys(chromedp.ID("name"), "through the proxy"),
		chromedp.SendKeys(chromedp.ID("model"), "a*exp(-k*x)"),
		chromedp.SendKeys(chromedp.CSS("input[name=p0_name]"), "a"),
		chromedp.SendKeys(chromedp.CSS("input[name=p0_value]"), "1"),
		chromedp.SendKeys(chromedp.CSS("input[name=p1_name]"), "k"),
		chromedp.SendKeys(chromedp.CSS("input[name=p1_value]"), "0.5"),
		chromedp.SetValue(chromedp.ID("data"), "# x y dy\n0 5.1 0.2\n1 3.0 0.15\n2 1.9 0.1\n3 1.1 0.08\n4 0.62 0.05\n5 0.4 0.04\n"),
		chromedp.Click(chromedp.ID("submit-fit")),
		chromedp.WaitVisible(chromedp.ID("state")))
	if p := testenv.Eval[string](t, ctx, `location.pathname`); !strings.HasPrefix(p, "/queue/ui/jobs/") {
		t.Fatalf("after submit the browser is at %s", p)
	}
	waitFor("the job page shows COMPLETE", `document.getElementById("state").textContent === "COMPLETE" && !!document.getElementById("params")`)
	waitFor("the plots load through the proxy", `document.querySelectorAll("#plots img").length > 0 &&
		[...document.querySelectorAll("#plots img")].every(img => img.complete && img.naturalWidth > 0)`)
	if href := testenv.Eval[string](t, ctx, `document.getElementById("archive").getAttribute("href")`); !strings.HasPrefix(href, "/queue/ui/jobs/") {
		t.Errorf("archive link %q", href)
	}

	// A running job of carol's, cancelled from its page.
	token, err := controller.NewToken(context.Background(), s.env.C.Store, "carol", "test")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(base, token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := cl.Submit(context.Background(), client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": 600}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	do("open the running job", chromedp.Navigate(fmt.Sprintf("%s/ui/jobs/%d", base, j.ID)), chromedp.WaitVisible(chromedp.ID("state")))
	waitFor("the page follows the job to ACTIVE", `document.getElementById("state").textContent === "ACTIVE"`)
	do("cancel", chromedp.Click(chromedp.ID("cancel")))
	waitFor("the job page shows CANCEL", `document.getElementById("state").textContent === "CANCEL"`)
}
