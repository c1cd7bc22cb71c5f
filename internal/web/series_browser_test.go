package web_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestBrowserSeries: a series parent's page, in a real chromium, shows
// the table (one row per file, each parameter ± error, χ², state, the
// x read from the file name), a plot per parameter that loads, a CSV
// download, and a child's page links back to its series.
func TestBrowserSeries(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 2})
	alice := env.User("alice", store.RoleUser)
	c := env.Client(alice)
	dir := t.TempDir()
	var up []client.Upload
	var names []string
	for i := range 5 {
		var sb strings.Builder
		for k := range 20 {
			x := 0.5 * float64(k)
			fmt.Fprintf(&sb, "%g %.6f 0.02\n", x, (1+0.3*float64(i))*math.Exp(-0.25*x)+0.01*math.Sin(float64(k*k+i)))
		}
		name := fmt.Sprintf("run_%dK.txt", 10+5*i)
		os.WriteFile(filepath.Join(dir, name), []byte(sb.String()), 0o644)
		up = append(up, client.Upload{Name: name, Path: filepath.Join(dir, name)})
		names = append(names, name)
	}
	spec := `{"parameters": {"amp": {"value": 1, "min": 0, "max": 10}, "rate": {"value": 0.1, "min": 0, "max": 2}},
		"datasets": [{"model": "amp*exp(-rate*x)", "file": "d.txt", "columns": ["x", "y", "dy"]}]}`
	j, err := c.Submit(context.Background(), client.Submission{Name: "temperature scan", Service: "fit", Spec: []byte(spec),
		Series: &client.Series{Files: names, X: `name:_(\d+)K`}}, up)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 2*time.Minute, "the series ends", func() bool {
		p, err := c.Get(context.Background(), j.ID)
		return err == nil && p.State.Terminal()
	})

	ctx := startBrowser(t)
	signIn(t, ctx, env.URL, alice)
	step(t, ctx, "open the series", chromedp.Navigate(fmt.Sprintf("%s/ui/jobs/%d", env.URL, j.ID)), chromedp.WaitVisible(chromedp.ID("series-table")))
	heads := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll("#series-table thead th")].map(th => th.textContent.trim())`)
	if want := []string{"#", "File", "x", "amp", "rate", "χ²", "State"}; !slices.Equal(heads, want) {
		t.Errorf("columns %q, want %q", heads, want)
	}
	rows := testenv.Eval[[][]string](t, ctx, `[...document.querySelectorAll("#series-table tbody tr")].map(tr => [...tr.children].map(td => td.textContent.trim()))`)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	for i, r := range rows {
		if r[1] != names[i] || r[2] != fmt.Sprint(10+5*i) || !strings.Contains(r[3], " ± ") || !strings.Contains(r[4], " ± ") || r[6] != "COMPLETE" {
			t.Errorf("row %d = %q", i, r)
		}
	}
	waitFor(t, ctx, 20*time.Second, "the plots load",
		`[...document.querySelectorAll("#series-plots img")].length == 2 && [...document.querySelectorAll("#series-plots img")].every(img => img.complete && img.naturalWidth > 0)`)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch(document.getElementById("series-csv").href).then(r => r.text().then(b => r.status + " " + r.headers.get("content-type") + "\n" + b))`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(got, "200 text/csv") || !strings.Contains(got, "index,file,x,job,state,amp,amp_stderr,rate,rate_stderr") || strings.Count(got, "COMPLETE") != 5 {
		t.Errorf("CSV download: %v %q", err, got)
	}
	screenshot(t, ctx, "job-series", true)

	// A row's file links to its fit, whose page links back.
	step(t, ctx, "open the first fit", chromedp.Click(chromedp.CSS(`#series-table tbody tr a`)), chromedp.WaitVisible(chromedp.ID("parent-link")))
	if href := testenv.Eval[string](t, ctx, `document.getElementById("parent-link").getAttribute("href")`); href != fmt.Sprintf("/ui/jobs/%d", j.ID) {
		t.Errorf("a fit's page links its series as %q", href)
	}
}
