package securitytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestJobFilesRunNoScript proves in a real chromium that a job's .html
// and .svg carrying scripts run no script in the service's origin, whether
// opened directly (the page route, signed in) or shown by the job page
// (which shows SVG plots as <img>), and that the same files served by a
// server without the headers do run it, so the markers this test reads
// would show a script that ran. The files reach the job both ways a job's
// files arrive: uploaded (input/) and sent back by a remote worker (output/).
func TestJobFilesRunNoScript(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	alice := env.User("alice", store.RoleUser)
	b := newBeacon(t)
	files := map[string]string{
		"input/evil.html":  evilHTML(b, "input-html"),
		"input/evil.svg":   evilSVG(b, "input-svg"),
		"input/evil.txt":   evilHTML(b, "input-txt"), // inline types must not be sniffed into HTML
		"input/evil.png":   evilHTML(b, "input-png"),
		"input/evil.json":  evilHTML(b, "input-json"),
		"output/evil.html": evilHTML(b, "output-html"),
		"output/evil.svg":  evilSVG(b, "output-svg"),
	}
	id := evilJob(t, env, alice, env.User("w", store.RoleWorker), files)
	base := fmt.Sprintf("%s/ui/jobs/%d/files/", env.URL, id)
	served := checkHeaders(t, env, alice, id, files)

	ctl := control(t, map[string]string{
		"/evil.html": evilHTML(b, "control-html"), "/evil.svg": evilSVG(b, "control-svg"),
		"/guarded.html": evilHTML(b, "guarded-html"), "/guarded.svg": evilSVG(b, "guarded-svg"),
		"/plain.html": "<!doctype html><title>plain</title>", "/sentinel.html": evilHTML(b, "sentinel"),
	}, map[string]http.Header{"/guarded.html": served["output/evil.html"], "/guarded.svg": served["output/evil.svg"]})
	ctx := startBrowser(t)

	t.Run("the service's headers alone stop the script", func(t *testing.T) {
		// Shown inline (no attachment), with the CSP and nosniff the
		// service sent: the script must not run.
		for _, p := range []string{"/guarded.html", "/guarded.svg"} {
			if err := open(t, ctx, ctl.URL+p); err != nil {
				t.Fatalf("open %s: %v", p, err)
			}
			if title := testenv.Eval[string](t, ctx, `document.title`); title == "PWNED" {
				t.Errorf("%s with the service's headers ran its script", p)
			}
		}
		open(t, ctx, ctl.URL+"/plain.html")
		if v := testenv.Eval[any](t, ctx, `localStorage.getItem("pwned")`); v != nil {
			t.Errorf("a guarded file wrote localStorage of its origin: %v", v)
		}
	})

	t.Run("without the headers the script runs", func(t *testing.T) {
		if err := open(t, ctx, ctl.URL+"/evil.html"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the control .html retitles itself", `document.title === "PWNED"`)
		if v := testenv.Eval[string](t, ctx, `localStorage.getItem("pwned") || ""`); v != "control-html" {
			t.Errorf("the control .html did not write localStorage: %q", v)
		}
		if err := open(t, ctx, ctl.URL+"/evil.svg"); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*e2eSecond, "the control .svg calls the beacon", func() bool { return b.count("control-svg") > 0 })
		testenv.Eventually(t, 10*e2eSecond, "the control .html calls the beacon", func() bool { return b.count("control-html") > 0 })
	})

	t.Run("opened directly from the service", func(t *testing.T) {
		signIn(t, ctx, env.URL, alice)
		for _, p := range sortedKeys(files) {
			err := open(t, ctx, base+p)
			switch ext := path.Ext(p); ext {
			case ".html", ".svg":
				// An attachment: the browser must not render it at all.
				if err == nil {
					t.Errorf("%s rendered in the browser instead of downloading (%s)", p,
						testenv.Eval[string](t, ctx, `location.href`))
				}
			default:
				if err != nil {
					t.Fatalf("open %s: %v", p, err)
				}
				want := map[string]string{".txt": "text/plain", ".png": "image/png", ".json": "application/json"}[ext]
				if got := testenv.Eval[string](t, ctx, `document.contentType`); got != want {
					t.Errorf("%s rendered as %s, want %s (nosniff)", p, got, want)
				}
			}
			if title := testenv.Eval[string](t, ctx, `document.title`); title == "PWNED" {
				t.Errorf("%s ran its script", p)
			}
		}
		checkOrigin(t, ctx, env.URL)
	})

	t.Run("shown by the job page", func(t *testing.T) {
		if err := open(t, ctx, fmt.Sprintf("%s/ui/jobs/%d", env.URL, id)); err != nil {
			t.Fatal(err)
		}
		// The plot is fetched and drawn (so the browser did process the
		// SVG), through <img>, and nothing embeds a job file as a document.
		waitFor(t, ctx, "the SVG plot is drawn", `(() => { const i = document.querySelector('img[src$="output/evil.svg"]');
			return !!i && i.complete && i.naturalWidth > 0; })()`)
		if n := testenv.Eval[int](t, ctx, `document.querySelectorAll('iframe, object, embed, frame').length`); n != 0 {
			t.Errorf("the job page embeds %d documents", n)
		}
		if title := testenv.Eval[string](t, ctx, `document.title`); strings.Contains(title, "PWNED") {
			t.Error("the job page was retitled by a job's file")
		}
		checkOrigin(t, ctx, env.URL)
	})

	// The beacon calls are asynchronous: once a later script's call has
	// arrived, any from the service's files would have too.
	open(t, ctx, ctl.URL+"/sentinel.html")
	testenv.Eventually(t, 10*e2eSecond, "the sentinel calls the beacon", func() bool { return b.count("sentinel") > 0 })
	for _, name := range []string{"input-html", "input-svg", "input-txt", "input-png", "input-json", "output-html", "output-svg", "guarded-html", "guarded-svg"} {
		if n := b.count(name) + b.count(name+"-img"); n > 0 {
			t.Errorf("the %s file's script called out %d times", name, n)
		}
	}
}

// checkOrigin reads the service origin's storage from a page of its own:
// a script that had run in that origin would have left its mark.
func checkOrigin(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := open(t, ctx, url+"/ui/jobs"); err != nil {
		t.Fatal(err)
	}
	if v := testenv.Eval[any](t, ctx, `localStorage.getItem("pwned")`); v != nil {
		t.Errorf("a job's file wrote localStorage of the service's origin: %v", v)
	}
}

func signIn(t *testing.T, ctx context.Context, url, token string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*e2eSecond)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(url+"/ui/login"),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("nav a[href='/ui/submit']"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

// evilJob makes a job of owner's whose input/ holds the input/ files
// (uploaded) and whose output/ holds the output/ files (sent back by a
// remote worker, as a worker running a hostile model would).
func evilJob(t *testing.T, env *testenv.Env, owner, workerToken string, files map[string]string) int64 {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var ups []client.Upload
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if name, ok := strings.CutPrefix(p, "input/"); ok {
			ups = append(ups, client.Upload{Name: name, Path: full})
		}
	}
	j, err := env.Client(owner).Submit(ctx, client.Submission{Name: "evil", Service: "sleep"}, ups)
	if err != nil {
		t.Fatal(err)
	}
	wk := env.Client(workerToken)
	js, err := wk.Claim(ctx, api.ClaimRequest{Name: "evil-worker", Slots: 1, Free: 1})
	if err != nil || len(js) != 1 || js[0].ID != j.ID {
		t.Fatalf("claim job %d: %v, %v", j.ID, js, err)
	}
	if _, err := wk.Complete(ctx, j.ID, api.CompleteRequest{Token: js[0].LeaseToken, State: job.Complete,
		Result: json.RawMessage(`{}`)}, filepath.Join(dir, "output")); err != nil {
		t.Fatal(err)
	}
	return j.ID
}
