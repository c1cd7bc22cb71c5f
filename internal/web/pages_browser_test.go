package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// pagesUIDs is this test's own range of job user ids.
var pagesUIDs = [2]int{67600, 67649}

// TestMain makes the test binary the sandbox's confining helper, as the
// bumpserve binary is in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sandbox-exec" {
		os.Exit(sandbox.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// examples is the repository's examples/ folder: the README's fits.
func examples(t *testing.T, parts ...string) string {
	p, err := filepath.Abs(filepath.Join(append([]string{"..", "..", "examples"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowserPages holds the pages to what a scientist scans for, in a
// real chromium against a real server whose slots run jobs confined: the
// README's example fits (a line, two datasets, DREAM, a Bumps model), a
// failed and a cancelled job; then the list (columns, sorting by mouse and
// keyboard, search, state filter, labelled states), numbers rounded to
// their uncertainty, plots with legends in SVG and PNG, a Bumps fit drawn
// in the same style, form errors in words, the admin page (403 for users,
// local slots apart, protections once per worker), and every page at phone
// width. It takes the README's screenshots.
func TestBrowserPages(t *testing.T) {
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil, "python3-bumps is not installed (scripts/install-deps installs it)")
	sb, err := sandbox.New(sandbox.Config{UIDs: pagesUIDs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	env := testenv.Start(t, controller.Config{Workers: 2, Runner: confine.New(sb)})
	alice := env.User("alice", store.RoleUser)
	c := env.Client(alice)

	ids := map[string]int64{}
	submit := func(key, name, service, spec string, files ...string) {
		t.Helper()
		var up []client.Upload
		for _, f := range files {
			up = append(up, client.Upload{Name: filepath.Base(f), Path: f})
		}
		j, err := c.Submit(context.Background(), client.Submission{Name: name, Service: service, Spec: []byte(spec)}, up)
		if err != nil {
			t.Fatalf("submit %s: %v", key, err)
		}
		ids[key] = j.ID
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	submit("line", "line", "fit", read(examples(t, "line", "spec.json")), examples(t, "line", "data.txt"))
	submit("twosets", "two runs, shared centre", "fit", read(examples(t, "twosets", "spec.json")),
		examples(t, "twosets", "run1.txt"), examples(t, "twosets", "run2.txt"))
	submit("dream", "decay (DREAM)", "fit", read(examples(t, "dream", "spec.json")), examples(t, "dream", "decay.txt"))
	submit("bumps", "peak (Bumps DREAM)", "bumps", `{"model": "peak.py", "fitter": "dream", "options": {"samples": 4000, "seed": 1}}`,
		examples(t, "peak", "peak.py"), examples(t, "peak", "peak.txt"))
	raises, _ := filepath.Abs("../service/testdata/bumps/raises.py")
	submit("error", "a model that raises", "bumps", `{"model": "raises.py", "fitter": "amoeba"}`, raises)
	submit("cancel", "cancelled", "sleep", `{"seconds": 600}`)
	if _, err := c.Cancel(context.Background(), ids["cancel"]); err != nil {
		t.Fatal(err)
	}
	for key, id := range ids {
		testenv.Eventually(t, 3*time.Minute, key+" job ends", func() bool {
			j, err := c.Get(context.Background(), id)
			return err == nil && j.State.Terminal()
		})
	}
	if j, _ := c.Get(context.Background(), ids["bumps"]); j.State != "COMPLETE" {
		t.Fatalf("the Bumps example ended %s: %s", j.State, j.Reason)
	}

	ctx := startBrowser(t)
	signIn(t, ctx, env.URL, alice)
	jobURL := func(key string) string { return fmt.Sprintf("%s/ui/jobs/%d", env.URL, ids[key]) }

	t.Run("list", func(t *testing.T) {
		step(t, ctx, "open the list", chromedp.Navigate(env.URL+"/ui/jobs"), chromedp.WaitVisible(chromedp.ID("jobs")))
		heads := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#jobs thead th")].map(th => th.textContent.trim())`)
		if want := []string{"Name", "Service / fitter", "State", "χ²", "Run time", "Submitted"}; !slices.Equal(heads, want) {
			t.Errorf("columns %q, want %q", heads, want)
		}
		// Each state is a word with a colour of its own.
		states := testenv.Eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("#jobs .state")].map(
			s => [s.textContent, getComputedStyle(s).color]))`)
		for _, st := range []string{"COMPLETE", "ERROR", "CANCEL"} {
			if states[st] == "" {
				t.Errorf("no %s label in the list: %v", st, states)
			}
		}
		if states["COMPLETE"] == states["ERROR"] || states["ERROR"] == states["CANCEL"] {
			t.Errorf("states share a colour: %v", states)
		}
		line := testenv.Eval[[]string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('tr[data-job-id="%d"] td')].map(td => td.textContent.trim())`, ids["line"]))
		if len(line) != 6 || line[1] != "fit / lm" || !regexp.MustCompile(`^\d\.\d{1,4}$`).MatchString(line[3]) || !strings.HasSuffix(line[4], "s") {
			t.Errorf("the line fit's row %q: want fit / lm, a reduced χ² of four digits, a run time", line)
		}
		screenshot(t, ctx, "jobs", false)

		// Sorting by χ²: a click, then the keyboard on another heading.
		step(t, ctx, "sort by χ²", chromedp.Click(chromedp.CSS("#jobs thead th:nth-child(4) button")))
		chis := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#jobs tbody td:nth-child(4)")].map(td => td.dataset.sort)`)
		var seen []float64
		for i, v := range chis {
			if v == "" {
				if !slices.Equal(slices.Compact(slices.Clone(chis[i:])), []string{""}) {
					t.Errorf("jobs without χ² are not last: %q", chis)
				}
				break
			}
			f, _ := strconv.ParseFloat(v, 64)
			seen = append(seen, f)
		}
		if len(seen) < 4 || !slices.IsSorted(seen) {
			t.Errorf("χ² column after sorting: %q", chis)
		}
		testenv.Eval[bool](t, ctx, `document.querySelector("#jobs thead th:nth-child(1) button").focus(), true`)
		step(t, ctx, "sort by name with the keyboard", chromedp.KeyEvent(kb.Enter))
		names := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#jobs tbody td:nth-child(1)")].map(td => td.dataset.sort.toLowerCase())`)
		if !slices.IsSorted(names) || testenv.Eval[string](t, ctx, `document.querySelector("#jobs thead th:nth-child(1)").getAttribute("aria-sort")`) != "ascending" {
			t.Errorf("Enter on the Name heading: %q", names)
		}

		step(t, ctx, "search", chromedp.SetValue(chromedp.ID("search"), "peak"), chromedp.Submit(chromedp.ID("search")),
			chromedp.WaitVisible(chromedp.ID("jobs")))
		if got := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#jobs tbody tr")].map(tr => tr.dataset.jobId)`); !slices.Equal(got, []string{strconv.FormatInt(ids["bumps"], 10)}) {
			t.Errorf("search for peak: jobs %q", got)
		}
		step(t, ctx, "filter by state", chromedp.Navigate(env.URL+"/ui/jobs?state=ERROR"), chromedp.WaitVisible(chromedp.ID("jobs")))
		if got := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#jobs .state")].map(s => s.textContent)`); !slices.Equal(got, []string{"ERROR"}) {
			t.Errorf("state=ERROR lists %q", got)
		}
	})

	t.Run("native fit", func(t *testing.T) {
		step(t, ctx, "open the line fit", chromedp.Navigate(jobURL("line")), chromedp.WaitVisible(chromedp.ID("params")))
		vals := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#params td.value")].map(td => td.textContent.trim())`)
		// The error to two significant digits, the value to its decimal place.
		re := regexp.MustCompile(`^-?\d+\.(\d+) ± 0\.(0*)[1-9]\d$`)
		for _, v := range vals {
			m := re.FindStringSubmatch(v)
			if m == nil || len(m[1]) != len(m[2])+2 {
				t.Errorf("value %q is not rounded to its uncertainty", v)
			}
		}
		if got := testenv.Eval[string](t, ctx, `document.getElementById("chisq").textContent`); len(strings.Trim(got, "0.")) > 5 {
			t.Errorf("χ² shown as %q", got)
		}
		if dts := testenv.Eval[string](t, ctx, `document.getElementById("job").textContent`); strings.Contains(dts, "Confined by") {
			t.Error("a job's page lists the sandbox's protections; they belong to the worker")
		}
		checkPlots(t, ctx, "Data, fit and residuals")

		step(t, ctx, "open two datasets", chromedp.Navigate(jobURL("twosets")), chromedp.WaitVisible(chromedp.ID("params")))
		checkPlots(t, ctx, "Data, fit and residuals")
		screenshot(t, ctx, "job-native", true)
	})

	t.Run("DREAM fit", func(t *testing.T) {
		step(t, ctx, "open the DREAM fit", chromedp.Navigate(jobURL("dream")), chromedp.WaitVisible(chromedp.ID("params")))
		rhat := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#params td.rhat")].map(td => td.textContent)`)
		for _, r := range rhat {
			if !regexp.MustCompile(`^1\.\d{3}$`).MatchString(r) {
				t.Errorf("R-hat %q, want three decimals", r)
			}
		}
		checkPlots(t, ctx, "Data, fit and residuals", "Parameter histograms", "Pairwise correlations", "Trace of the log posterior")
		screenshot(t, ctx, "job-dream", true)
	})

	t.Run("Bumps fit", func(t *testing.T) {
		step(t, ctx, "open the Bumps fit", chromedp.Navigate(jobURL("bumps")), chromedp.WaitVisible(chromedp.ID("params")))
		checkPlots(t, ctx, "Data, fit and residuals (drawn from peak.dat)", "Bumps' plot of the data with the model (peak-model.png)")
		if ev := testenv.Eval[string](t, ctx, `[...document.querySelectorAll("#results dt")].map(d => d.textContent).join("|")`); strings.Contains(ev, "Evaluations") &&
			testenv.Eval[string](t, ctx, `[...document.querySelectorAll("#results dt")].find(d => d.textContent === "Evaluations").nextElementSibling.textContent`) == "0" {
			t.Error("a Bumps fit shows 0 evaluations")
		}
		screenshot(t, ctx, "job-bumps", true)
	})

	t.Run("form errors in words", func(t *testing.T) {
		step(t, ctx, "fill in a fit with a bad data cell",
			chromedp.Navigate(env.URL+"/ui/submit"), chromedp.WaitVisible(chromedp.ID("model")),
			chromedp.SendKeys(chromedp.ID("model"), "a*x + b"),
			chromedp.SendKeys(chromedp.CSS("input[name=p0_name]"), "a"), chromedp.SendKeys(chromedp.CSS("input[name=p0_value]"), "1"),
			chromedp.SendKeys(chromedp.CSS("input[name=p1_name]"), "b"), chromedp.SendKeys(chromedp.CSS("input[name=p1_value]"), "0"),
			chromedp.SetValue(chromedp.ID("data"), "1 2 0.1\n2 4 0.1\n3 abc 0.1\n"),
			chromedp.Click(chromedp.ID("submit-fit")), chromedp.WaitVisible(chromedp.ID("data-error")))
		msg := testenv.Eval[string](t, ctx, `document.getElementById("data-error").textContent`)
		if !strings.Contains(msg, `line 3, column 2: "abc" is not a number`) || strings.Contains(msg, "spec.") || strings.Contains(msg, "[0]") {
			t.Errorf("data error %q: want the row and cell in words, no JSON path", msg)
		}
		if v := testenv.Eval[string](t, ctx, `document.getElementById("model").value + "|" + document.querySelector("input[name=p1_name]").value`); v != "a*x + b|b" {
			t.Errorf("the form lost what was typed: %q", v)
		}
		// The message sits beside the field it concerns and is announced.
		if ok := testenv.Eval[bool](t, ctx, `document.getElementById("data").getAttribute("aria-invalid") === "true" &&
			document.getElementById("data").getAttribute("aria-describedby").includes("data-error")`); !ok {
			t.Error("the data field is not marked invalid and tied to its message")
		}
		screenshot(t, ctx, "submit-error", true)

		// An uploaded file cannot be put back in a file field: its text
		// comes back in the data box, where the bad cell can be corrected.
		bad := filepath.Join(t.TempDir(), "bad.txt")
		if err := os.WriteFile(bad, []byte("1 2 0.1\n2 abc 0.1\n3 6 0.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		step(t, ctx, "upload a data file with a bad cell",
			chromedp.Navigate(env.URL+"/ui/submit"), chromedp.WaitVisible(chromedp.ID("model")),
			chromedp.SendKeys(chromedp.ID("model"), "a*x + b"),
			chromedp.SendKeys(chromedp.CSS("input[name=p0_name]"), "a"), chromedp.SendKeys(chromedp.CSS("input[name=p0_value]"), "1"),
			chromedp.SendKeys(chromedp.CSS("input[name=p1_name]"), "b"), chromedp.SendKeys(chromedp.CSS("input[name=p1_value]"), "0"),
			chromedp.SetUploadFiles(chromedp.ID("datafile"), []string{bad}),
			chromedp.Click(chromedp.ID("submit-fit")), chromedp.WaitVisible(chromedp.ID("data-kept")))
		msg = testenv.Eval[string](t, ctx, `document.getElementById("data-error").textContent`)
		if !strings.Contains(msg, `data file: bad.txt line 2, column 2: "abc" is not a number`) {
			t.Errorf("uploaded file's error %q", msg)
		}
		if v := testenv.Eval[string](t, ctx, `document.getElementById("data").value`); !strings.Contains(v, "2 abc 0.1") {
			t.Errorf("the uploaded file's text is not kept: %q", v)
		}
		step(t, ctx, "correct the cell in place and submit",
			chromedp.SetValue(chromedp.ID("data"), "1 2 0.1\n2 4 0.1\n3 6 0.1\n"),
			chromedp.Click(chromedp.ID("submit-fit")), chromedp.WaitVisible(chromedp.ID("state")))
		// Until the fit ends its page reloads itself once (live.js): wait
		// for its results, so that reload cannot cut off the next
		// subtest's navigation.
		step(t, ctx, "the corrected fit's results", chromedp.WaitVisible(chromedp.ID("params")))
	})

	t.Run("admin is 403 for a user", func(t *testing.T) {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		resp, err := chromedp.Run(sctx, chromedp.NavigateResponse(env.URL+"/ui/admin"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 403 {
			t.Errorf("alice opening /ui/admin: HTTP %d; want 403", resp.Status)
		}
		// The response can arrive before the browser has swapped in its
		// document: wait for the page itself.
		testenv.WaitScript(t, ctx, 10*time.Second, "the 403 page saying why",
			`(document.querySelector("main") || {textContent: ""}).textContent.includes("only for administrators")`)
	})

	phone := func(t *testing.T, name, url, ready string) {
		t.Helper()
		step(t, ctx, "a phone-sized "+name,
			chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(ready)))
		if w := testenv.Eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s is %d px wide on a 390 px phone", name, w)
		}
		screenshot(t, ctx, name+"-phone", false)
		step(t, ctx, "back to a laptop", chromedp.EmulateViewport(1200, 850))
	}
	t.Run("phone", func(t *testing.T) {
		phone(t, "jobs", env.URL+"/ui/jobs", "#jobs")
		phone(t, "job-native", jobURL("twosets"), "#params")
		phone(t, "job-dream", jobURL("dream"), "#params")
		phone(t, "job-bumps", jobURL("bumps"), "#params")
		phone(t, "submit", env.URL+"/ui/submit", "#model")
	})

	t.Run("keyboard", func(t *testing.T) {
		step(t, ctx, "open the list", chromedp.Navigate(env.URL+"/ui/jobs"), chromedp.WaitVisible(chromedp.ID("jobs")),
			chromedp.KeyEvent(kb.Tab))
		if cls := testenv.Eval[string](t, ctx, `document.activeElement.className`); cls != "skip" {
			t.Errorf("the first Tab reaches %q, want the skip link", cls)
		}
		step(t, ctx, "follow the skip link", chromedp.KeyEvent(kb.Enter))
		if h := testenv.Eval[string](t, ctx, `location.hash`); h != "#main" {
			t.Errorf("the skip link leads to %q", h)
		}
	})

	t.Run("admin", func(t *testing.T) {
		step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("token")))
		signIn(t, ctx, env.URL, env.AdminToken)
		step(t, ctx, "open admin", chromedp.Navigate(env.URL+"/ui/admin"), chromedp.WaitVisible(chromedp.ID("queue")))
		if n := testenv.Eval[int](t, ctx, `document.querySelectorAll(".protections").length`); n != 1 {
			t.Errorf("protections shown %d times, want once for the one local worker", n)
		}
		if p := testenv.Eval[string](t, ctx, `document.querySelector(".protections").textContent`); !strings.Contains(p, "landlock") {
			t.Errorf("local protections %q", p)
		}
		if !strings.Contains(testenv.Eval[string](t, ctx, `document.getElementById("local-h").textContent`), "slots") ||
			!strings.Contains(testenv.Eval[string](t, ctx, `document.getElementById("workers-h").textContent`), "Remote") {
			t.Error("local slots are not listed apart from remote workers")
		}
		screenshot(t, ctx, "admin", false)
		phone(t, "admin", env.URL+"/ui/admin", "#queue")
	})
}

func signIn(t *testing.T, ctx context.Context, url, token string) {
	t.Helper()
	step(t, ctx, "sign in", chromedp.Navigate(url+"/ui/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("nav a[href='/ui/submit']")))
}

// checkPlots checks the page shows the figures captioned want, every image
// loaded, and each figure offers SVG and PNG downloads that answer as such.
func checkPlots(t *testing.T, ctx context.Context, want ...string) {
	t.Helper()
	waitFor(t, ctx, 20*time.Second, "the plots load",
		`[...document.querySelectorAll("#plots img")].every(img => img.complete && img.naturalWidth > 0)`)
	alts := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#plots img")].map(i => i.alt)`)
	for _, w := range want {
		if !slices.Contains(alts, w) {
			t.Errorf("plots %q lack %q", alts, w)
		}
	}
	// Every figure but Bumps' own PNGs comes in both formats.
	links := testenv.Eval[[][]string](t, ctx, `[...document.querySelectorAll("#plots figure")].filter(f => !f.querySelector("img").alt.startsWith("Bumps")
		&& !/\.png\)$/.test(f.querySelector("img").alt)).map(f => [...f.querySelectorAll(".downloads a")].map(a => a.textContent + " " + a.href))`)
	for _, l := range links {
		if len(l) != 2 || !strings.HasPrefix(l[0], "SVG ") || !strings.HasPrefix(l[1], "PNG ") {
			t.Errorf("figure downloads %q, want SVG and PNG", l)
			continue
		}
		for _, a := range l {
			kind, href, _ := strings.Cut(a, " ")
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			got, err := chromedp.Run(sctx, chromedp.Evaluate[string](fmt.Sprintf(
				`fetch(%q).then(r => r.status + " " + r.headers.get("content-type"))`, href), chromedp.EvalAwaitPromise))
			cancel()
			if err != nil {
				t.Fatalf("fetch %s: %v", href, err)
			}
			if want := "200 image/" + strings.ToLower(kind); !strings.HasPrefix(got, want) {
				t.Errorf("%s download %s: %s, want %s", kind, href, got, want)
			}
		}
	}
}
