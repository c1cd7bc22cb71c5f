package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// screenshots is where the committed pictures of the main pages live (the
// README links one). A test run writes its pictures to a temporary
// directory (named in the log) unless BUMPSERVE_SCREENSHOTS names a
// directory; set it to this path to refresh the committed ones.
const screenshots = "../../docs/screenshots"

func screenshotDir(t *testing.T) string {
	if d := os.Getenv("BUMPSERVE_SCREENSHOTS"); d != "" {
		return d
	}
	shotOnce.Do(func() {
		shotDir, _ = os.MkdirTemp("", "bumpserve-screenshots-")
		t.Logf("screenshots in %s (BUMPSERVE_SCREENSHOTS=%s refreshes the committed ones)", shotDir, screenshots)
	})
	return shotDir
}

var (
	shotOnce sync.Once
	shotDir  string
)

// startBrowser starts one headless chromium for the test, with a window
// the size of the committed screenshots, and returns a tab's context.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	return testenv.Browser(t, chromedp.WindowSize(1200, 850))
}

// step runs actions with a deadline, failing the test with what was being done.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls a script until it is true (testenv.WaitScript).
func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, what, script string) {
	t.Helper()
	testenv.WaitScript(t, ctx, timeout, what, script)
}

// screenshot saves the viewport, or the whole page, as a PNG.
func screenshot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	var shot chromedp.Action[[]byte] = chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	data, err := chromedp.Run(sctx, shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := screenshotDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Chromium compresses lightly; these files are kept in the repository.
	if img, err := png.Decode(bytes.NewReader(data)); err == nil {
		var buf bytes.Buffer
		if (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img) == nil && buf.Len() < len(data) {
			data = buf.Bytes()
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser drives the pages in a real chromium against a real server:
// sign in, submit a native fit through the form, watch it complete, read
// its parameter table and see its plots, watch a long fit's live progress
// and cancel it, and find another user's job answered 404.
func TestBrowser(t *testing.T) {
	env := testenv.Start(t, controller.Config{Workers: 2})
	alice := env.User("alice", store.RoleUser)
	bob := env.User("bob", store.RoleUser)
	ctx := startBrowser(t)
	bobJob := sleepJob(t, env.Client(bob), 0)

	t.Run("sign in", func(t *testing.T) {
		step(t, ctx, "open the sign-in page", chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
		screenshot(t, ctx, "login", false)
		step(t, ctx, "sign in",
			chromedp.SendKeys(chromedp.ID("token"), alice),
			chromedp.Submit(chromedp.ID("token")),
			chromedp.WaitVisible(chromedp.CSS("nav a[href='/ui/submit']")))
		if h1 := testenv.Eval[string](t, ctx, `document.querySelector("h1").textContent`); h1 != "Your jobs" {
			t.Fatalf("after sign in the page says %q", h1)
		}
	})

	var fitURL string
	t.Run("submit a native fit and watch it complete", func(t *testing.T) {
		step(t, ctx, "fill in the form",
			chromedp.Navigate(env.URL+"/ui/submit"),
			chromedp.WaitVisible(chromedp.ID("model")),
			chromedp.SendKeys(chromedp.ID("name"), "decay"),
			chromedp.SendKeys(chromedp.ID("model"), "a*exp(-k*x) + b3"),
			chromedp.SendKeys(chromedp.CSS("input[name=p0_name]"), "a"),
			chromedp.SendKeys(chromedp.CSS("input[name=p0_value]"), "1"),
			chromedp.SendKeys(chromedp.CSS("input[name=p0_min]"), "0"),
			chromedp.SendKeys(chromedp.CSS("input[name=p0_max]"), "10"),
			chromedp.SendKeys(chromedp.CSS("input[name=p1_name]"), "k"),
			chromedp.SendKeys(chromedp.CSS("input[name=p1_value]"), "0.5"),
			chromedp.SendKeys(chromedp.CSS("input[name=p1_min]"), "0"),
			chromedp.SendKeys(chromedp.CSS("input[name=p1_max]"), "5"),
			chromedp.SetValue(chromedp.ID("data"), "# x y dy\n0 5.1 0.2\n1 3.0 0.15\n2 1.9 0.1\n3 1.1 0.08\n4 0.62 0.05\n5 0.4 0.04\n6 0.22 0.03\n7 0.15 0.03\n"),
			chromedp.SetValue(chromedp.ID("fitter"), "dream"),
			chromedp.SendKeys(chromedp.ID("opt-samples"), "4000"),
			chromedp.SendKeys(chromedp.ID("opt-seed"), "1"),
		)
		screenshot(t, ctx, "submit", true)
		// A mistake comes back beside its field, with the rest kept.
		step(t, ctx, "submit with a mistake", chromedp.Click(chromedp.ID("submit-fit")), chromedp.WaitVisible(chromedp.ID("model-error")))
		if msg := testenv.Eval[string](t, ctx, `document.getElementById("model-error").textContent`); !strings.Contains(msg, `unknown name "b3"`) {
			t.Errorf("model error %q", msg)
		}
		if v := testenv.Eval[string](t, ctx, `document.querySelector("input[name=p1_max]").value`); v != "5" {
			t.Errorf("the form lost what was typed: p1_max = %q", v)
		}
		step(t, ctx, "correct the model and submit",
			chromedp.SetValue(chromedp.ID("model"), "a*exp(-k*x)"),
			chromedp.Click(chromedp.ID("submit-fit")), chromedp.WaitVisible(chromedp.ID("state")))
		fitURL = testenv.Eval[string](t, ctx, `location.pathname`)
		if !strings.HasPrefix(fitURL, "/ui/jobs/") {
			t.Fatalf("after submit the browser is at %s", fitURL)
		}
		// The page follows the job by itself (events, then a reload).
		waitFor(t, ctx, 30*time.Second, "the job page shows COMPLETE",
			`document.getElementById("state").textContent === "COMPLETE" && !!document.getElementById("params")`)

		rows := testenv.Eval[[][]string](t, ctx, `[...document.querySelectorAll("#params tbody tr")].map(
			tr => [tr.dataset.param, ...[...tr.querySelectorAll("td")].map(td => td.textContent.trim())])`)
		want := map[string]float64{"a": 5.1, "k": 0.52}
		if len(rows) != 2 {
			t.Fatalf("parameter table rows: %q", rows)
		}
		for _, r := range rows {
			val, stderr, ok := strings.Cut(r[1], "±")
			v, err1 := strconv.ParseFloat(strings.TrimSpace(val), 64)
			e, err2 := strconv.ParseFloat(strings.TrimSpace(stderr), 64)
			if !ok || err1 != nil || err2 != nil || math.Abs(v-want[r[0]]) > 0.1*want[r[0]] || e <= 0 {
				t.Errorf("parameter %s: %q, want about %g ± a positive stderr", r[0], r[1], want[r[0]])
			}
			if len(r) != 9 { // value, mean, median, std, 68%, 95%, R-hat, ESS
				t.Errorf("parameter %s: DREAM columns %q", r[0], r[1:])
			}
		}
		if chisq := testenv.Eval[string](t, ctx, `document.getElementById("chisq").textContent`); chisq == "–" || chisq == "" {
			t.Errorf("no chisq shown")
		}
		// Every plot is shown as an image that loaded; nothing in them runs.
		waitFor(t, ctx, 10*time.Second, "the plots load",
			`[...document.querySelectorAll("#plots img")].every(img => img.complete && img.naturalWidth > 0)`)
		alts := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#plots img")].map(i => i.alt)`)
		for _, want := range []string{"Data, fit and residuals", "Parameter histograms", "Pairwise correlations", "Trace of the log posterior"} {
			if !contains(alts, want) {
				t.Errorf("plots %q lack %q", alts, want)
			}
		}
		if n := testenv.Eval[int](t, ctx, `document.querySelectorAll("#correlation tbody tr").length`); n != 2 {
			t.Errorf("correlation matrix rows: %d", n)
		}
		if log := testenv.Eval[string](t, ctx, `document.getElementById("log").textContent`); !strings.Contains(log, "dream") {
			t.Errorf("log tail %q does not mention the fit", log)
		}
		screenshot(t, ctx, "job-complete", true)
	})

	t.Run("live progress and cancel", func(t *testing.T) {
		// A DREAM fit with a long burn-in runs until it is cancelled.
		id := longFit(t, env.Client(alice))
		step(t, ctx, "open the running job", chromedp.Navigate(fmt.Sprintf("%s/ui/jobs/%d", env.URL, id)))
		waitFor(t, ctx, 20*time.Second, "the convergence plot grows",
			`Number(document.querySelector("#convergence-chart svg")?.dataset.points) >= 3 &&
			 document.getElementById("state").textContent === "ACTIVE"`)
		step0 := testenv.Eval[string](t, ctx, `document.getElementById("step").textContent`)
		waitFor(t, ctx, 10*time.Second, "the step advances",
			`document.getElementById("step").textContent !== `+strconv.Quote(step0))
		screenshot(t, ctx, "job-running", true)

		step(t, ctx, "cancel", chromedp.Click(chromedp.ID("cancel")))
		// The page after the cancel form says at once that it was received
		// (local slots stop a job so fast that it may already say CANCEL;
		// TestCancelReceived holds a job ACTIVE to see the in-between).
		waitFor(t, ctx, 20*time.Second, "the page shows the cancel",
			`!document.getElementById("cancel-status").hidden || document.getElementById("state").textContent === "CANCEL"`)
		// Waits for the page the server draws for the ended job (no
		// cancel form): the live page reloads itself once it hears of the
		// end, and that reload would cut off the next subtest's navigation.
		waitFor(t, ctx, 20*time.Second, "the job page shows CANCEL",
			`document.getElementById("state").textContent === "CANCEL" && !document.getElementById("cancel-form")`)
	})

	t.Run("job list follows states", func(t *testing.T) {
		id := sleepJob(t, env.Client(alice), 1)
		step(t, ctx, "open the list", chromedp.Navigate(env.URL+"/ui/jobs"), chromedp.WaitVisible(chromedp.ID("jobs")))
		// A mark on the window shows the rows change without a reload.
		testenv.Eval[bool](t, ctx, `window.stayed = true`)
		waitFor(t, ctx, 20*time.Second, "the sleep job's row turns COMPLETE",
			fmt.Sprintf(`document.querySelector('tr[data-job-id="%d"] .state').textContent === "COMPLETE" && window.stayed`, id))
		states := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#jobs .state")].map(s => s.textContent)`)
		if want := []string{"COMPLETE", "CANCEL", "COMPLETE"}; strings.Join(states, " ") != strings.Join(want, " ") {
			t.Errorf("list states %q, want alice's jobs only, newest first: %q", states, want)
		}
		screenshot(t, ctx, "jobs-live", false)
		sleepJob(t, env.Client(alice), 0)
		waitFor(t, ctx, 10*time.Second, "the list offers the new job", `!document.getElementById("new-jobs").hidden && window.stayed`)
	})

	t.Run("submit again with changes", func(t *testing.T) {
		step(t, ctx, "open the form from the job",
			chromedp.Navigate(env.URL+fitURL), chromedp.Click(chromedp.ID("resubmit")), chromedp.WaitVisible(chromedp.ID("model")))
		got := testenv.Eval[[]string](t, ctx, `["model", "fitter", "opt-samples"].map(id => document.getElementById(id).value)
			.concat([...document.querySelectorAll(".param-row input[name$=_name]")].map(i => i.value))`)
		if want := "a*exp(-k*x) dream 4000 a k"; strings.TrimSpace(strings.Join(got, " ")) != want {
			t.Errorf("prefilled form %q, want %q", got, want)
		}
		if data := testenv.Eval[string](t, ctx, `document.getElementById("data").value`); !strings.HasPrefix(data, "0 5.1 0.2\n1 3 0.15\n") {
			t.Errorf("prefilled data %q", data)
		}
	})

	t.Run("another user's job is 404", func(t *testing.T) {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		resp, err := chromedp.Run(sctx, chromedp.NavigateResponse(fmt.Sprintf("%s/ui/jobs/%d", env.URL, bobJob)))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 404 {
			t.Errorf("alice opening bob's job: HTTP %d, want 404", resp.Status)
		}
	})

	t.Run("phone", func(t *testing.T) {
		step(t, ctx, "a phone-sized job page",
			chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Navigate(env.URL+fitURL), chromedp.WaitVisible(chromedp.ID("params")))
		// Wide tables scroll inside their box; the page itself does not.
		if w := testenv.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the job page is %d px wide on a 390 px phone", w)
		}
		screenshot(t, ctx, "job-phone", false)
		step(t, ctx, "back to a laptop", chromedp.EmulateViewport(1200, 850))
	})

	t.Run("admin", func(t *testing.T) {
		step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("token")))
		step(t, ctx, "sign in as admin",
			chromedp.SendKeys(chromedp.ID("token"), env.AdminToken),
			chromedp.Submit(chromedp.ID("token")),
			chromedp.WaitVisible(chromedp.CSS("nav a[href='/ui/admin']")),
			chromedp.Click(chromedp.CSS("nav a[href='/ui/admin']")),
			chromedp.WaitVisible(chromedp.ID("queue")))
		if s := testenv.Eval[string](t, ctx, `document.getElementById("local-slots").textContent`); !strings.Contains(s, "Local slots: 2") {
			t.Errorf("admin page: %q", s)
		}
		screenshot(t, ctx, "admin-slots", false)
	})
}

// longFit submits a DREAM fit whose burn-in lasts minutes: it reports
// progress every generation until it is cancelled.
func longFit(t *testing.T, c *client.Client) int64 {
	t.Helper()
	var x, y []string
	for i := range 1000 {
		xi := float64(i) * 0.01
		x = append(x, strconv.FormatFloat(xi, 'g', -1, 64))
		y = append(y, strconv.FormatFloat(5*math.Exp(-0.7*xi)+0.3+0.05*math.Sin(float64(i)), 'g', -1, 64))
	}
	spec := fmt.Sprintf(`{"fitter": "dream", "options": {"samples": 1000, "burn": 1000000, "seed": 1},
		"parameters": {"a": {"value": 1, "min": 0, "max": 10}, "k": {"value": 0.5, "min": 0, "max": 5}, "c": {"value": 0, "min": -1, "max": 1}},
		"datasets": [{"model": "a*exp(-k*x) + c", "x": [%s], "y": [%s]}]}`, strings.Join(x, ","), strings.Join(y, ","))
	j, err := c.Submit(context.Background(), client.Submission{Name: "long dream", Service: "fit", Spec: []byte(spec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
