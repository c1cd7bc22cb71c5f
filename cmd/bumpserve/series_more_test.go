package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// childJob is a child as GET /api/v1/jobs/{id} shows it.
type childJob struct {
	ID       int64      `json:"id"`
	State    string     `json:"state"`
	Reason   string     `json:"reason"`
	Parent   int64      `json:"parent"`
	Started  *time.Time `json:"started"`
	Finished *time.Time `json:"finished"`
	Spec     struct {
		Parameters map[string]struct {
			Value float64 `json:"value"`
		} `json:"parameters"`
	} `json:"spec"`
}

// TestSeriesChained: with --chain each fit waits for the one before it
// and starts from its best values.
func TestSeriesChained(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "2")
	tok := srv.adminToken()
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + tok}
	dir := t.TempDir()
	files := writeDecays(t, dir, 3)
	spec := filepath.Join(dir, "model.json")
	os.WriteFile(spec, []byte(seriesModel), 0o644)
	out, errOut, code := bs(t, env, append([]string{"submit", "--service", "fit", "--spec-file", spec, "--chain", "--series-x", "column:2", "--series"}, files...)...)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if _, errOut, code := bs(t, env, "wait", id); code != 0 {
		t.Fatalf("wait: %d %s", code, errOut)
	}
	var tab seriesTable
	apiGet(t, srv, tok, "/api/v1/jobs/"+id+"/series", &tab)
	var prev *childJob
	for i, r := range tab.Rows {
		// --series-x column:2: each row's x is the mean of its file's second column.
		data, _ := os.ReadFile(files[i])
		var sum float64
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for _, line := range lines {
			var x, y float64
			fmt.Sscan(line, &x, &y)
			sum += y
		}
		if want := sum / float64(len(lines)); math.Abs(r.X-want) > 1e-9*math.Abs(want) {
			t.Errorf("row %d: x %v, want the mean of column 2 of %s, %v", i, r.X, filepath.Base(files[i]), want)
		}
		var c childJob
		apiGet(t, srv, tok, fmt.Sprintf("/api/v1/jobs/%d", r.Job), &c)
		if c.State != "COMPLETE" || fmt.Sprint(c.Parent) != id {
			t.Fatalf("child %d: %+v", i, c)
		}
		if prev == nil {
			if c.Spec.Parameters["a"].Value != 1 || c.Spec.Parameters["b"].Value != 0.1 {
				t.Errorf("first fit starts from %+v, want the spec's a=1, b=0.1", c.Spec.Parameters)
			}
		} else {
			for _, name := range []string{"a", "b"} {
				if got, want := c.Spec.Parameters[name].Value, tab.Rows[i-1].Params[name].Value; got != want {
					t.Errorf("fit %d starts %s at %v, want the previous best %v", i, name, got, want)
				}
			}
			if c.Started == nil || prev.Finished == nil || c.Started.Before(*prev.Finished) {
				t.Errorf("fit %d started %v, before fit %d finished %v", i, c.Started, i-1, prev.Finished)
			}
		}
		prev = &c
	}
}

// TestSeriesCancel: cancelling the parent cancels every child, running
// or held; the parent ends CANCEL.
func TestSeriesCancel(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "1")
	tok := srv.adminToken()
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + tok}
	dir := t.TempDir()
	files := writeDecays(t, dir, 4)
	// A DREAM fit long enough to be running when the cancel comes; the
	// chain holds the others back meanwhile.
	long := strings.Replace(seriesModel, `"fitter": "lm"`, `"fitter": "dream", "options": {"samples": 20000000, "seed": 1}`, 1)
	spec := filepath.Join(dir, "model.json")
	os.WriteFile(spec, []byte(long), 0o644)
	out, errOut, code := bs(t, env, append([]string{"submit", "--service", "fit", "--spec-file", spec, "--chain", "--series-x", "column:2", "--series"}, files...)...)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	var first childJob
	testenv.Eventually(t, 60*time.Second, "the first fit running", func() bool {
		apiGet(t, srv, tok, fmt.Sprintf("/api/v1/jobs/%s", id), &first)
		return first.State == "ACTIVE" // the parent shows its running child
	})
	if _, errOut, code := bs(t, env, "cancel", id); code != 0 {
		t.Fatalf("cancel: %d %s", code, errOut)
	}
	var tab seriesTable
	testenv.Eventually(t, 60*time.Second, "every fit cancelled", func() bool {
		apiGet(t, srv, tok, "/api/v1/jobs/"+id+"/series", &tab)
		for _, r := range tab.Rows {
			if r.State != "CANCEL" {
				return false
			}
		}
		return true
	})
	var p childJob
	apiGet(t, srv, tok, "/api/v1/jobs/"+id, &p)
	if p.State != "CANCEL" || tab.State != "CANCEL" {
		t.Errorf("parent after cancel: %s (table says %s), want CANCEL", p.State, tab.State)
	}
}

// TestSeriesRefused: a series with no files, a native data file that does
// not parse (the whole series is refused, naming the file's index), a
// chain of Bumps fits, an x pattern a file name does not match and an x
// column a file does not have are
// refused at submit with exit code 2, and nothing is stored.
func TestSeriesRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "1")
	tok := srv.adminToken()
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + tok}
	dir := t.TempDir()
	files := writeDecays(t, dir, 3)
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("0 1 0.1\n1 oops 0.1\n"), 0o644)
	spec := filepath.Join(dir, "model.json")
	os.WriteFile(spec, []byte(seriesModel), 0o644)
	model := filepath.Join(dir, "peak.py")
	os.WriteFile(model, []byte("import sys\n"), 0o644)
	fitArgs := []string{"submit", "--service", "fit", "--spec-file", spec}
	cases := []struct {
		args []string
		want string
	}{
		{append(fitArgs, "--series"), "series.files: empty"},
		{append(append(fitArgs, "--series"), files[0], files[1], bad, files[2]), `series.files[2] (bad.txt): spec.datasets[0].file: bad.txt line 2, column 2: "oops" is not a number`},
		{append(append(fitArgs, "--series-x", "name:^scan(\\d+)"), append([]string{"--series"}, files...)...), `does not match file 0 "decay_100K.txt"`},
		{append(append(fitArgs, "--series-x", "column:4"), append([]string{"--series"}, files...)...), `series.x: "column:4": file 0 "decay_100K.txt": line 1 has 3 columns, not 4`},
		{append([]string{"submit", "--service", "sleep", "--series"}, files...), `service "sleep" cannot run a series`},
	}
	for _, c := range cases {
		_, errOut, code := bs(t, env, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("bumpserve %v: exit %d, %q; want exit 2 saying %q", c.args[1:], code, errOut, c.want)
		}
	}
	var list struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	apiGet(t, srv, tok, "/api/v1/jobs", &list)
	if len(list.Jobs) != 0 {
		t.Errorf("refused series stored %d jobs", len(list.Jobs))
	}
}

// TestSeriesBumps: a 5-file Bumps series with one file that is not data:
// four rows COMPLETE with their fits, one ERROR with the reason bumps
// gave, and the parent COMPLETE saying so.
func TestSeriesBumps(t *testing.T) {
	t.Parallel()
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil, "bumps: /usr/bin/bumps missing (apt-get install python3-bumps)")
	srv := startServer(t, t.TempDir(), "--workers", "2")
	tok := srv.adminToken()
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + tok}
	files := writePeaks(t, 5, 3)
	out, errOut, code := bs(t, env, append([]string{"submit", "--service", "bumps", "../../examples/peak/peak.py",
		"--fit", "amoeba", "--steps", "400", "--seed", "1", "--series"}, files...)...)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	out, errOut, code = bs(t, env, "wait", id)
	if code != 0 || !strings.Contains(out, "4 of 5 fits completed, 1 failed") {
		t.Fatalf("wait: %d\n%s\n%s", code, out, errOut)
	}
	var tab seriesTable
	apiGet(t, srv, tok, "/api/v1/jobs/"+id+"/series", &tab)
	for i, r := range tab.Rows {
		if i == 3 {
			if r.State != "ERROR" || !strings.Contains(r.Reason, "could not convert string") {
				t.Errorf("bad file's row: %s %q, want ERROR with numpy's complaint", r.State, r.Reason)
			}
			continue
		}
		// The data's peak moves by 0.5 a file; the fit finds it.
		if c := r.Params["center"].Value; r.State != "COMPLETE" || math.Abs(c-(8+0.5*float64(i))) > 0.2 {
			t.Errorf("row %d: %s, center %v, want COMPLETE near %v", i, r.State, c, 8+0.5*float64(i))
		}
	}
}

// writePeaks writes n data files of a Gaussian peak whose centre moves
// from 8 by 0.5 a file, for examples/peak/peak.py; file bad (if in range)
// starts with a line that is not data.
func writePeaks(t *testing.T, n, bad int) []string {
	dir := t.TempDir()
	var files []string
	for i := range n {
		var sb strings.Builder
		if i == bad {
			sb.WriteString("not data at all\n")
		}
		for k := range 40 {
			x := 0.5 * float64(k)
			y := 40*math.Exp(-0.5*math.Pow((x-8-0.5*float64(i))/2, 2)) + 2 + 0.3*math.Sin(float64(7*k+i))
			fmt.Fprintf(&sb, "%g %.4f 0.5\n", x, y)
		}
		f := filepath.Join(dir, fmt.Sprintf("peak_%d.txt", i))
		os.WriteFile(f, []byte(sb.String()), 0o644)
		files = append(files, f)
	}
	return files
}

// TestSeriesBumpsChained: a chained Bumps series starts each fit from the
// one before it's best values (bumps --pars): the child's spec carries
// them as its start, its log says so, and bumps shows the model at those
// values before it fits, not at the model's own (centre 10).
func TestSeriesBumpsChained(t *testing.T) {
	t.Parallel()
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil, "bumps: /usr/bin/bumps missing (apt-get install python3-bumps)")
	data := t.TempDir()
	srv := startServer(t, data, "--workers", "2")
	tok := srv.adminToken()
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + tok}
	out, errOut, code := bs(t, env, append([]string{"submit", "--service", "bumps", "../../examples/peak/peak.py",
		"--fit", "amoeba", "--steps", "400", "--seed", "1", "--chain", "--series"}, writePeaks(t, 3, -1)...)...)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if out, errOut, code = bs(t, env, "wait", id); code != 0 {
		t.Fatalf("wait: %d\n%s\n%s", code, out, errOut)
	}
	var tab seriesTable
	apiGet(t, srv, tok, "/api/v1/jobs/"+id+"/series", &tab)
	shown := regexp.MustCompile(`(?m)^\.center = (\S+) in`)
	for i, r := range tab.Rows {
		if r.State != "COMPLETE" {
			t.Fatalf("row %d: %s %s", i, r.State, r.Reason)
		}
		if i == 0 {
			continue
		}
		prev := tab.Rows[i-1].Params["center"].Value
		var child struct {
			Spec struct{ Start map[string]float64 }
		}
		apiGet(t, srv, tok, fmt.Sprint("/api/v1/jobs/", r.Job), &child)
		if child.Spec.Start["center"] != prev || len(child.Spec.Start) != 4 {
			t.Errorf("row %d's spec starts from %v; want the 4 best values of row %d (center %v)", i, child.Spec.Start, i-1, prev)
		}
		log, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(r.Job), "output", "job.log"))
		if !strings.Contains(string(log), "bumps: starting from the spec's start values (4 parameters, --pars)") {
			t.Errorf("row %d's log does not say where it starts:\n%s", i, log)
		}
		stdout, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(r.Job), "output", "bumps-stdout.txt"))
		m := shown.FindSubmatch(stdout)
		var start float64
		if m != nil {
			fmt.Sscan(string(m[1]), &start)
		}
		if math.Abs(start-prev) > 1e-4 {
			t.Errorf("row %d: bumps started at centre %v; want the previous fit's %v:\n%.1500s", i, start, prev, stdout)
		}
	}
}
