package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// seriesModel is a native spec whose one dataset reads a file that each
// fit of a series replaces.
const seriesModel = `{"fitter": "lm", "parameters": {"a": {"value": 1, "min": 0, "max": 20}, "b": {"value": 0.1, "min": 0, "max": 5}},
 "datasets": [{"model": "a*exp(-b*x)", "file": "data.txt", "columns": ["x", "y", "dy"]}]}`

// writeDecays writes n data files of decays whose amplitude and rate grow
// along the series, named decay_<T>K.txt for T = 100, 110, ...
func writeDecays(t *testing.T, dir string, n int) []string {
	t.Helper()
	rng := rand.New(rand.NewSource(7))
	var files []string
	for i := range n {
		a, b := 2+0.25*float64(i), 0.2+0.02*float64(i)
		var sb strings.Builder
		for k := range 25 {
			x := 0.4 * float64(k)
			fmt.Fprintf(&sb, "%g %.6f 0.02\n", x, a*math.Exp(-b*x)+0.02*rng.NormFloat64())
		}
		f := filepath.Join(dir, fmt.Sprintf("decay_%dK.txt", 100+10*i))
		if err := os.WriteFile(f, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// seriesTable is GET /api/v1/jobs/{id}/series as the tests read it.
type seriesTable struct {
	Parent     int64    `json:"parent"`
	State      string   `json:"state"`
	Parameters []string `json:"parameters"`
	Rows       []struct {
		Index  int     `json:"index"`
		File   string  `json:"file"`
		X      float64 `json:"x"`
		Job    int64   `json:"job"`
		State  string  `json:"state"`
		Reason string  `json:"reason"`
		Params map[string]struct {
			Value  float64  `json:"value"`
			Stderr *float64 `json:"stderr"`
		} `json:"params"`
		Chisq *float64 `json:"chisq"`
	} `json:"rows"`
}

// apiGet fetches an API path with token into v (or returns the body).
func apiGet(t *testing.T, srv *serverProc, token, path string, v any) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(b.String()), v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b.String())
		}
	}
	return resp.StatusCode, []byte(b.String())
}

// TestSeriesNative: a 20-file native series through a real server; every
// row holds what `bumpserve fit` gives for that file alone, the x values
// come from the file names, and the CSV says the same as the table.
func TestSeriesNative(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "2")
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	dir := t.TempDir()
	files := writeDecays(t, dir, 20)
	spec := filepath.Join(dir, "model.json")
	os.WriteFile(spec, []byte(seriesModel), 0o644)

	args := append([]string{"submit", "--service", "fit", "--spec-file", spec, "--name", "decays", "--series"}, files...)
	out, errOut, code := bs(t, env, append(args, "--series-x", `name:_(\d+)K`)...)
	if code != 0 || !strings.Contains(errOut, "a series of 20 fits") {
		t.Fatalf("submit series: %d %s %s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	out, errOut, code = bs(t, env, "wait", id)
	if code != 0 || !strings.Contains(out, `"state": "COMPLETE"`) || !strings.Contains(out, "20 of 20 fits completed") {
		t.Fatalf("wait: %d\n%s\n%s", code, out, errOut)
	}
	var parent struct {
		State  string `json:"state"`
		Series struct {
			Children []int64 `json:"children"`
		} `json:"series"`
	}
	apiGet(t, srv, srv.adminToken(), "/api/v1/jobs/"+id, &parent)
	if len(parent.Series.Children) != 20 {
		t.Fatalf("parent lists %d children, want 20", len(parent.Series.Children))
	}
	var tab seriesTable
	if code, body := apiGet(t, srv, srv.adminToken(), "/api/v1/jobs/"+id+"/series", &tab); code != 200 {
		t.Fatalf("series: %d %s", code, body)
	}
	if len(tab.Rows) != 20 || strings.Join(tab.Parameters, ",") != "a,b" {
		t.Fatalf("table: %d rows, parameters %v", len(tab.Rows), tab.Parameters)
	}
	for i, r := range tab.Rows {
		if r.State != "COMPLETE" || r.File != filepath.Base(files[i]) || r.X != float64(100+10*i) || r.Job != parent.Series.Children[i] {
			t.Fatalf("row %d = %+v", i, r)
		}
		// The same fit run alone, locally, from a spec naming this file.
		alone := filepath.Join(dir, fmt.Sprintf("alone%d.json", i))
		os.WriteFile(alone, []byte(strings.Replace(seriesModel, "data.txt", filepath.Base(files[i]), 1)), 0o644)
		fitOut, fitErr, code := bs(t, nil, "fit", alone)
		if code != 0 {
			t.Fatalf("fit %s: %d %s", alone, code, fitErr)
		}
		var want struct {
			Chisq      float64 `json:"chisq"`
			Parameters map[string]struct {
				Value  float64 `json:"value"`
				Stderr float64 `json:"stderr"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal([]byte(fitOut), &want); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a", "b"} {
			got, w := r.Params[name], want.Parameters[name]
			if got.Value != w.Value || got.Stderr == nil || *got.Stderr != w.Stderr {
				t.Errorf("row %d %s = %v ± %v, fitting the file alone gives %v ± %v", i, name, got.Value, got.Stderr, w.Value, w.Stderr)
			}
		}
		if r.Chisq == nil || *r.Chisq != want.Chisq {
			t.Errorf("row %d chisq = %v, alone %v", i, r.Chisq, want.Chisq)
		}
	}

	// The CSV: a header, then one line per row with the same numbers.
	code, body := apiGet(t, srv, srv.adminToken(), "/api/v1/jobs/"+id+"/series.csv", nil)
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if code != 200 || err != nil || len(recs) != 21 {
		t.Fatalf("series.csv: %d %v, %d records\n%s", code, err, len(recs), body)
	}
	if got := strings.Join(recs[0], ","); got != "index,file,x,job,state,a,a_stderr,b,b_stderr,chisq,reduced_chisq,reason" {
		t.Fatalf("csv header %s", got)
	}
	for i, rec := range recs[1:] {
		r := tab.Rows[i]
		a, _ := strconv.ParseFloat(rec[5], 64)
		bErr, _ := strconv.ParseFloat(rec[8], 64)
		if rec[1] != r.File || rec[2] != strconv.Itoa(100+10*i) || rec[4] != "COMPLETE" || a != r.Params["a"].Value || bErr != *r.Params["b"].Stderr {
			t.Errorf("csv line %d = %v, table row %+v", i+1, rec, r)
		}
	}
	// A plot per parameter, as SVG.
	if code, body := apiGet(t, srv, srv.adminToken(), "/api/v1/jobs/"+id+"/series.svg?param=b", nil); code != 200 || !strings.Contains(string(body), "<svg") {
		t.Errorf("series.svg: %d %.200s", code, body)
	}
	if code, body := apiGet(t, srv, srv.adminToken(), "/api/v1/jobs/"+id+"/series.svg?param=nope", nil); code != 400 || !strings.Contains(string(body), "a b") {
		t.Errorf("series.svg of an unknown parameter: %d %s", code, body)
	}

	// Delete removes the parent and every child, files too.
	if _, errOut, code := bs(t, env, "delete", id); code != 0 {
		t.Fatalf("delete: %d %s", code, errOut)
	}
	for _, c := range append([]int64{tab.Parent}, parent.Series.Children...) {
		if code, _ := apiGet(t, srv, srv.adminToken(), fmt.Sprintf("/api/v1/jobs/%d", c), nil); code != 404 {
			t.Errorf("job %d after deleting its series: %d, want 404", c, code)
		}
		testenv.Eventually(t, 30*time.Second, fmt.Sprintf("job %d's files removed", c), func() bool {
			_, err := os.Stat(filepath.Join(srv.Data, "jobs", strconv.FormatInt(c, 10)))
			return os.IsNotExist(err)
		})
	}
}
