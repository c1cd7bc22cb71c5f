package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// Stop a running Bumps DREAM fit from the command line: bumps ends it as
// its own time limit (--time) does, with the statistics of the draws so
// far, and the job is COMPLETE, marked stopped, its steps fewer than
// planned; cancel, by contrast, would have discarded them.
func TestStopBumpsDREAMKeepsItsDraws(t *testing.T) {
	t.Parallel()
	needBumps(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, "--workers", "1", "--sandbox-uids", "68900-68909")
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	models := filepath.Join("..", "..", "internal", "service", "testdata", "bumps")
	// About 25 generations a second: a million samples would take hours.
	out, errOut, code := bs(t, env, "submit", "--service", "bumps", filepath.Join(models, "slow.py"),
		filepath.Join(models, "linefn.py"), "--fit", "dream", "--samples", "1000000", "--seed", "1")
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	var jid int64
	fmt.Sscan(id, &jid)
	// Past the burn-in (bumps' default, 100 generations).
	testenv.Eventually(t, 120*time.Second, "the fit samples past its burn-in", func() bool {
		j, err := cl.Get(context.Background(), jid)
		return err == nil && j.Progress != nil && j.Progress.Step > 130
	})
	if out, errOut, code = bs(t, env, "stop", id); code != 0 || !strings.Contains(out, "stop requested") {
		t.Fatalf("stop: %d %s %s", code, out, errOut)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if final, err := cl.Watch(wctx, jid, func(*client.Job) error { return nil }); err != nil || final.State != "COMPLETE" {
		t.Fatalf("a stopped bumps fit, 2 minutes on: %v %+v", err, final)
	}
	res, _, _ := bs(t, env, "results", id)
	var r struct {
		Stopped, Converged bool
		Warning            string
		Steps              int
		Params             map[string]struct {
			Stderr float64
			P95    *[2]float64
			Rhat   *float64
		} `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatalf("results: %v\n%s", err, res)
	}
	if !r.Stopped || r.Converged || !strings.HasPrefix(r.Warning, "stopped early by request at step ") ||
		!strings.Contains(r.Warning, "the statistics are from the draws so far") || r.Steps <= 130 || r.Steps >= 1000000/20 {
		t.Errorf("a stopped bumps DREAM fit's results: %s", res)
	}
	for _, name := range []string{"m", "b"} {
		p := r.Params[name]
		if p.P95 == nil || p.Rhat == nil || !(p.Stderr > 0) || math.IsInf(p.Stderr, 0) {
			t.Errorf("parameter %s of the stopped fit has no statistics: %s", name, res)
		}
	}
	log, _, _ := bs(t, env, "logs", id)
	if !strings.Contains(log, "bumps: stop requested") {
		t.Errorf("the job log does not say the stop was passed on:\n%s", log)
	}
	// bumps echoes its command line as a hand run's, prelude or not.
	stdout, _ := os.ReadFile(filepath.Join(data, "jobs", id, "output", "bumps-stdout.txt"))
	if !strings.HasPrefix(string(stdout), "# "+service.DefaultBumpsPath+" ") {
		t.Errorf("bumps' output begins %.200q; want its command line as /usr/bin/bumps runs it", stdout)
	}
	// bumps itself reports from the draws it made, not the plan.
	summary, _ := os.ReadFile(filepath.Join(data, "jobs", id, "output", "store", "slow.err"))
	if !strings.Contains(string(summary), "Statistics and plots based on") {
		t.Errorf("bumps' summary of the stopped fit:\n%s", summary)
	}
}
