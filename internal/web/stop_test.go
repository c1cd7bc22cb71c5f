package web_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The job page stops a running DREAM fit, which ends COMPLETE with the
// draws so far, and continues it in a new job for more samples.
func TestStopAndContinuePage(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)
	ctx := context.Background()
	x, y, dy := make([]float64, 1000), make([]float64, 1000), make([]float64, 1000)
	for i := range x {
		dy[i] = 0.02
		x[i] = float64(i) / 100
		y[i] = 3*math.Exp(-0.7*x[i]) + 0.5 + 0.02*math.Sin(float64(i*7))
	}
	spec, _ := json.Marshal(map[string]any{
		"fitter":     "dream",
		"options":    map[string]any{"seed": 3, "samples": 2000000, "burn": 50},
		"parameters": map[string]any{"a": map[string]float64{"value": 2, "min": 0, "max": 10}, "k": map[string]float64{"value": 0.5, "min": 0, "max": 5}, "c": map[string]float64{"value": 0, "min": -5, "max": 5}},
		"datasets":   []any{map[string]any{"model": "a*exp(-k*x)+c", "x": x, "y": y, "dy": dy}},
	})
	j, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: spec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, env.URL)
	b.login(alice)
	page := "/ui/jobs/" + itoa(j.ID)
	testenv.Eventually(t, 60*time.Second, "the fit samples", func() bool {
		got, err := cl.Get(ctx, j.ID)
		return err == nil && got.Progress != nil && got.Progress.Step > 1000
	})
	_, html := b.do("GET", page, nil)
	if !strings.Contains(html, `id="stop-form"`) || strings.Contains(html, `id="continue-form"`) {
		t.Fatalf("running fit's page: stop form missing or continue form shown")
	}
	token := b.csrf(page)
	if resp, body := b.do("POST", page+"/stop", url.Values{"csrf_token": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %s %s", resp.Status, body)
	}
	final, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" {
		t.Fatalf("stopped job: %v %v", final.State, err)
	}
	res, _ := cl.Results(ctx, j.ID)
	if !strings.Contains(string(res), `"stopped":true`) && !strings.Contains(string(res), `"stopped": true`) {
		t.Errorf("stopped job's results are not marked stopped: %.300s", res)
	}
	_, html = b.do("GET", page, nil)
	if !strings.Contains(html, `id="continue-form"`) || strings.Contains(html, `id="stop-form"`) || !strings.Contains(html, "stopped early by request") {
		t.Errorf("stopped fit's page: continue form or the stopped warning missing")
	}
	if resp, _ := b.do("POST", page+"/continue", url.Values{"csrf_token": {token}, "samples": {"many"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("continue with bad samples: %s", resp.Status)
	}
	resp, _ := b.do("POST", page+"/continue", url.Values{"csrf_token": {token}, "samples": {"800"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/jobs/") {
		t.Fatalf("continue: %s to %q", resp.Status, loc)
	}
	var next int64
	for _, c := range strings.TrimPrefix(strings.Split(loc, "?")[0], "/ui/jobs/") {
		next = next*10 + int64(c-'0')
	}
	final, err = cl.Watch(ctx, next, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" || !strings.HasSuffix(final.Name, "(continued)") {
		t.Fatalf("continued job: %v %q %v (%s)", final.State, final.Name, err, final.Reason)
	}
	if res, _ := cl.Results(ctx, next); strings.Contains(string(res), `"stopped"`) {
		t.Errorf("continued job is marked stopped: %.300s", res)
	}
}

// A running Bumps fit's page offers the same stop: bumps ends the fit as
// its own time limit does and the job is COMPLETE, marked stopped.
func TestStopBumpsFromItsPage(t *testing.T) {
	t.Parallel()
	sub, files := testenv.EndlessBumpsFit(t)
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)
	ctx := context.Background()
	j, err := cl.Submit(ctx, sub, files)
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, env.URL)
	b.login(alice)
	page := "/ui/jobs/" + itoa(j.ID)
	testenv.Eventually(t, 60*time.Second, "the fit makes steps", func() bool {
		got, err := cl.Get(ctx, j.ID)
		return err == nil && got.Progress != nil && got.Progress.Step > 3
	})
	if _, html := b.do("GET", page, nil); !strings.Contains(html, `id="stop-form"`) {
		t.Fatalf("running bumps fit's page has no stop form")
	}
	if resp, body := b.do("POST", page+"/stop", url.Values{"csrf_token": {b.csrf(page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %s %s", resp.Status, body)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	final, err := cl.Watch(wctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" {
		t.Fatalf("stopped bumps job: %+v %v", final, err)
	}
	res, _ := cl.Results(ctx, j.ID)
	var r struct {
		Stopped bool
		Warning string
		Steps   int
	}
	json.Unmarshal(res, &r)
	if !r.Stopped || !strings.Contains(r.Warning, "stopped early by request at step") || !strings.Contains(r.Warning, "the best point so far") || r.Steps >= 100000 {
		t.Errorf("stopped bumps DE fit's results: %.600s", res)
	}
	if _, html := b.do("GET", page, nil); !strings.Contains(html, "stopped early by request") {
		t.Errorf("stopped bumps fit's page does not show the warning")
	}
}
