package series

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/job"
)

func TestChildSpec(t *testing.T) {
	t.Parallel()
	native := `{"fitter":"lm","parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","x":[1],"y":[2]},{"model":"a*x","file":"d.txt","columns":["x","y"]}]}`
	got, err := ChildSpec("fit", json.RawMessage(native), "scan_3.txt")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Fitter   string
		Datasets []map[string]any
	}
	json.Unmarshal(got, &s)
	if s.Fitter != "lm" || s.Datasets[1]["file"] != "scan_3.txt" || s.Datasets[0]["file"] != nil {
		t.Errorf("native child spec %s", got)
	}
	for spec, want := range map[string]string{
		`{"datasets":[{"model":"a*x","x":[1],"y":[2]}]}`:                   "no dataset reads a file",
		`{"datasets":[{"model":"a","file":"a"},{"model":"b","file":"b"}]}`: "datasets 0 and 1 both read a file",
	} {
		if _, err := ChildSpec("fit", json.RawMessage(spec), "f"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ChildSpec(%s) = %v, want %q", spec, err, want)
		}
	}
	got, err = ChildSpec("bumps", json.RawMessage(`{"model":"peak.py","args":["--quiet-mode"]}`), "p2.txt")
	if err != nil || !strings.Contains(string(got), `"args":["--quiet-mode","p2.txt"]`) {
		t.Errorf("bumps child spec %s, %v", got, err)
	}
	if got, _ := ChildSpec("bumps", json.RawMessage(`{"model":"peak.py"}`), "p2.txt"); !strings.Contains(string(got), `"args":["p2.txt"]`) {
		t.Errorf("bumps child spec without args %s", got)
	}
}

func TestChainSpec(t *testing.T) {
	t.Parallel()
	spec := `{"parameters":{"a":{"value":1,"min":0},"b":{"value":2,"fixed":true},"c":3,"d":{"value":4}}}`
	prev := &Result{Parameters: map[string]Parameter{"a": {Value: 1.5}, "b": {Value: 9}, "c": {Value: 3.5}}}
	got, err := ChainSpec("fit", json.RawMessage(spec), prev)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Parameters map[string]any }
	json.Unmarshal(got, &s)
	a := s.Parameters["a"].(map[string]any)
	if a["value"] != 1.5 || a["min"] != 0.0 || s.Parameters["b"].(map[string]any)["value"] != 2.0 ||
		s.Parameters["c"] != 3.5 || s.Parameters["d"].(map[string]any)["value"] != 4.0 {
		t.Errorf("chained spec %s: want a from the previous fit, fixed b and unfitted d kept, bare c replaced", got)
	}
}

func TestXValues(t *testing.T) {
	t.Parallel()
	files := []string{"scan_300K.txt", "dir/scan_12.5K.txt"}
	data := map[string]string{
		"scan_300K.txt":      "# q R dR T\n0.01 0.9 0.01 299.5\n\n0.02, 0.8, 0.01, 300.5\n",
		"dir/scan_12.5K.txt": "0.01 0.9 0.01 12.5\n",
		"short.txt":          "# q R\n0.01 0.9\n",
		"bad.txt":            "0.01 0.9 0.01 warm\n",
		"empty.txt":          "# nothing\n",
	}
	open := func(f string) (io.ReadCloser, error) {
		d, ok := data[f]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return io.NopCloser(strings.NewReader(d)), nil
	}
	if xs, err := XValues("", files, nil); err != nil || xs[0] != 0 || xs[1] != 1 {
		t.Errorf("index: %v %v", xs, err)
	}
	if xs, err := XValues(`name:_([\d.]+)K`, files, nil); err != nil || xs[0] != 300 || xs[1] != 12.5 {
		t.Errorf("name: %v %v", xs, err)
	}
	if xs, err := XValues("column:4", files, open); err != nil || xs[0] != 300 || xs[1] != 12.5 {
		t.Errorf("column: %v %v", xs, err)
	}
	for _, c := range []struct {
		x     string
		files []string
		want  string
	}{
		{`name:^run`, files, `does not match file 0 "scan_300K.txt"`},
		{`name:scan`, files, `finds "scan" in file 0 "scan_300K.txt", which is not a number`},
		{`name:(`, files, "missing closing )"},
		{`column:temp`, files, "the column is a number from 1"},
		{`column:0`, files, "the column is a number from 1"},
		{`column:3`, []string{"short.txt"}, `file 0 "short.txt": line 2 has 2 columns, not 3`},
		{`column:4`, []string{"bad.txt"}, `line 1, column 4: "warm" is not a finite number`},
		{`column:1`, []string{"empty.txt"}, "no data lines"},
		{`column:1`, []string{"gone.txt"}, `file 0 "gone.txt"`},
		{`temperature`, files, "accepted: index; name:REGEX"},
	} {
		if _, err := XValues(c.x, c.files, open); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("XValues(%q, %v) = %v, want %q", c.x, c.files, err, c.want)
		}
	}
	if _, err := XValues("column:1", files, nil); err == nil {
		t.Error("column:1 without the files: no error")
	}
}

// TestEndedAndTable: how a parent ends from its children's states, and
// the table and CSV of a series with a failed and a deleted fit.
func TestEndedAndTable(t *testing.T) {
	t.Parallel()
	s := &job.Series{Files: []string{"a.txt", "b.txt", "c.txt"}}
	kid := func(id int64, st job.State, reason, result string) *job.Job {
		return &job.Job{ID: id, Parent: 1, State: st, Reason: reason, Result: json.RawMessage(result)}
	}
	ok := kid(2, job.Complete, "", `{"chisq":1.25,"reduced_chisq":0.5,"parameters":{"k":{"value":0.1,"stderr":0.01}}}`)
	bad := kid(3, job.Error, "bumps failed: bad row", "")
	if ended, _, _ := Ended(s, []*job.Job{ok, kid(3, job.Active, "", ""), kid(4, job.Pending, "", "")}); ended {
		t.Error("ended while fits run")
	}
	cases := []struct {
		kids   []*job.Job
		state  job.State
		reason string
	}{
		{[]*job.Job{ok, bad}, job.Complete, "1 of 3 fits completed, 1 failed, 1 deleted"},
		{[]*job.Job{bad, kid(4, job.Error, "", "")}, job.Error, "0 of 3 fits completed, 2 failed, 1 deleted"},
		{[]*job.Job{kid(2, job.Cancel, "", ""), kid(3, job.Cancel, "", ""), kid(4, job.Cancel, "", "")}, job.Cancel, "0 of 3 fits completed, 3 cancelled"},
	}
	for _, c := range cases {
		if ended, st, why := Ended(s, c.kids); !ended || st != c.state || why != c.reason {
			t.Errorf("Ended = %v %s %q, want %s %q", ended, st, why, c.state, c.reason)
		}
	}

	p := &job.Job{ID: 1, State: job.Pending, Series: &job.Series{Files: s.Files, Children: []int64{2, 3, 4}}}
	tab, err := Build(p, []*job.Job{ok, bad})
	if err != nil {
		t.Fatal(err)
	}
	if tab.State != "PENDING" || len(tab.Rows) != 3 || tab.Rows[1].Reason != bad.Reason || tab.Rows[2].State != "DELETED" || tab.Rows[0].Params["k"].Value != 0.1 {
		t.Errorf("table %+v", tab)
	}
	var b bytes.Buffer
	if err := tab.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "index,file,x,job,state,k,k_stderr,chisq,reduced_chisq,reason\n" +
		"0,a.txt,0,2,COMPLETE,0.1,0.01,1.25,0.5,\n" +
		"1,b.txt,1,3,ERROR,,,,,bumps failed: bad row\n" +
		"2,c.txt,2,4,DELETED,,,,,\n"
	if b.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := tab.Plot(&b, "k"); err != nil || !strings.Contains(b.String(), "<svg") {
		t.Errorf("plot: %v", err)
	}
	if err := tab.Plot(&b, "nope"); err == nil {
		t.Error("plot of an unknown parameter drew")
	}
}

func TestChainBumpsSpec(t *testing.T) {
	t.Parallel()
	prev := &Result{Parameters: map[string]Parameter{"center": {Value: 9.25}, "M1 width": {Value: 1.5}, "bad": {Value: math.NaN()}}}
	got, err := ChainSpec("bumps", json.RawMessage(`{"model":"peak.py","fitter":"dream","args":["p2.txt"]}`), prev)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Model string
		Args  []string
		Start map[string]float64
	}
	json.Unmarshal(got, &s)
	if s.Model != "peak.py" || len(s.Args) != 1 || len(s.Start) != 2 || s.Start["center"] != 9.25 || s.Start["M1 width"] != 1.5 {
		t.Errorf("chained bumps spec %s: want the model kept and the finite best values as its start", got)
	}
}
