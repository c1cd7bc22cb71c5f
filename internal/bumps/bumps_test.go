package bumps

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// The testdata stores were written by Debian's bumps 0.9 fitting the
// doc's curve.py (dream: --samples=2000 --seed=1; amoeba: --seed=1 --err),
// and testdata/stderr holds its stderr for each failure mode.

func TestParseUncertain(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in       string
		val, unc float64
	}{
		{"1.970(21)", 1.970, 0.021},
		{"1230.72(57)", 1230.72, 0.57},
		{"0.111(58)", 0.111, 0.058},
		{"1.23(4)e-5", 1.23e-5, 4e-7},
		{"120(30)", 120, 30},
		{"-3.5(12)", -3.5, 1.2},
		{"2.5", 2.5, math.NaN()},
		{"inf", math.Inf(1), math.NaN()},
	} {
		v, u, err := ParseUncertain(c.in)
		if err != nil || !close(v, c.val) || !(close(u, c.unc) || math.IsNaN(u) && math.IsNaN(c.unc)) {
			t.Errorf("ParseUncertain(%q) = %g, %g, %v; want %g, %g", c.in, v, u, err, c.val, c.unc)
		}
	}
	if _, _, err := ParseUncertain("1.2.3"); err == nil {
		t.Error("ParseUncertain accepted 1.2.3")
	}
}

func close(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// Load agrees with every other place bumps printed the same numbers.
func TestLoadDream(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "dream")
	res, err := loadDir(t, dir, "curve", "dream")
	if err != nil {
		t.Fatal(err)
	}
	raw := readJSON(t, filepath.Join(dir, "curve-err.json"))
	if len(res.ParameterOrder) != len(raw) {
		t.Fatalf("parameters %v, -err.json has %d", res.ParameterOrder, len(raw))
	}
	for _, name := range res.ParameterOrder {
		p, want := res.Parameters[name], raw[name]
		if p.Value != want["best"].(float64) || *p.Mean != want["mean"].(float64) ||
			*p.Median != want["median"].(float64) || *p.Std != want["std"].(float64) || float64(p.Stderr) != *p.Std {
			t.Errorf("%s = %+v, -err.json has %v", name, p, want)
		}
		lo := want["p95"].([]any)[0].(float64)
		if p.P95[0] != lo || p.P68[1] != want["p68"].([]any)[1].(float64) {
			t.Errorf("%s intervals %v %v, -err.json %v", name, *p.P68, *p.P95, want)
		}
	}
	checkSummary(t, dir, res)
	if res.Steps != 100 || res.Converged {
		t.Errorf("steps %d, converged %v; .mon says '# steps: 100' and 'Did not converge'", res.Steps, res.Converged)
	}
	// .par holds the same best point to 15 digits.
	par, _ := os.ReadFile(filepath.Join(dir, "curve.par"))
	pars, err := ParsePar(strings.NewReader(string(par)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pars {
		if v := res.Parameters[p.Label].Value; math.Abs(v-p.Value) > 1e-14*math.Abs(v) {
			t.Errorf("%s = %.17g, .par says %.17g", p.Label, v, p.Value)
		}
	}
}

func TestLoadAmoebaWithCurvature(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "amoeba")
	res, err := loadDir(t, dir, "curve", "amoeba")
	if err != nil {
		t.Fatal(err)
	}
	par, _ := os.ReadFile(filepath.Join(dir, "curve.par"))
	for _, line := range strings.Split(strings.TrimSpace(string(par)), "\n") {
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[1], 64)
		p := res.Parameters[f[0]]
		if p.Value != v || p.Mean != nil {
			t.Errorf("%s = %+v, .par says %g and no posterior", f[0], p, v)
		}
		// The curvature table prints value(unc.) to two digits of unc.
		if s := float64(p.Stderr); !(s > 0.01 && s < 0.1) {
			t.Errorf("%s stderr %g, want the --err table's", f[0], s)
		}
	}
	checkSummary(t, dir, res)
}

// checkSummary compares chisq, dof and reduced chisq with the .err line
// "[chisq=R(U), nllf=N]" (R is reduced, N half the plain chisq).
func checkSummary(t *testing.T, dir string, res *Result) {
	t.Helper()
	text, _ := os.ReadFile(filepath.Join(dir, "curve.err"))
	sum, err := ParseSummary(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Chisq-2*sum.NLLF) > 1e-5*res.Chisq {
		t.Errorf("chisq %g, .err nllf %g", res.Chisq, sum.NLLF)
	}
	dat, _ := os.ReadFile(filepath.Join(dir, "curve.dat"))
	rows := len(strings.Split(strings.TrimSpace(string(dat)), "\n")) - 1 // header
	if res.DOF != rows-len(res.ParameterOrder) {
		t.Errorf("dof %d, want %d rows - %d parameters", res.DOF, rows, len(res.ParameterOrder))
	}
	if r := float64(res.ReducedChisq); math.Abs(r-sum.ReducedChisq) > 0.006 {
		t.Errorf("reduced chisq %g, .err prints %g", r, sum.ReducedChisq)
	}
}

func readJSON(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// bumps echoes its command line with the seed it used on stdout (before
// batch mode sends the rest to the .mon file).
func TestSeed(t *testing.T) {
	t.Parallel()
	out, _ := os.ReadFile(filepath.Join("testdata", "dream", "stdout.txt"))
	if s, ok := Seed(string(out)); !ok || s != 1 {
		t.Errorf("Seed = %d, %v; stdout ran with --seed=1", s, ok)
	}
	if s, ok := Seed("# /usr/bin/bumps m.py --batch --seed=709510\n"); !ok || s != 709510 {
		t.Errorf("Seed = %d, %v", s, ok)
	}
	if _, ok := Seed("step 1 cost 3(1)\n"); ok {
		t.Error("Seed found in a file without the command line")
	}
}

func TestLoadMissingPar(t *testing.T) {
	t.Parallel()
	if _, err := loadDir(t, t.TempDir(), "curve", "dream"); err == nil || !strings.Contains(err.Error(), "no parameters") {
		t.Errorf("Load of an empty store: %v", err)
	}
}

func TestParErrJSONNonFinite(t *testing.T) {
	t.Parallel()
	post, err := ParseErrJSON([]byte(`{"a": {"best": 1, "std": NaN, "p68": [-Infinity, Infinity]}}`))
	if err != nil || !math.IsNaN(float64(post["a"].Std)) || post["a"].Best != 1 {
		t.Errorf("ParseErrJSON = %+v, %v", post, err)
	}
}

func TestLastProgress(t *testing.T) {
	t.Parallel()
	mon, _ := os.ReadFile(filepath.Join("testdata", "dream", "curve.mon"))
	p, ok := LastProgress(string(mon))
	if !ok || p.Step != 1 || p.Cost < 1000 {
		t.Errorf("LastProgress = %+v, %v; .mon has 'step 1 cost 1230.69(57)'", p, ok)
	}
	if _, ok := LastProgress("step 7 cost 12.5(3)"); ok {
		t.Error("a line without its newline counted as progress")
	}
	if p, ok := LastProgress("step 3 cost 5.1(2)\nstep 9 cost 4.2(1)\n"); !ok || p.Step != 9 || p.Cost != 4.2 {
		t.Errorf("LastProgress = %+v", p)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	for file, want := range map[string][]string{
		"syn.txt":    {"SyntaxError: '[' was never closed", "syn.py, line 2", "x = [1,2"},
		"exc.txt":    {"RuntimeError: bad model here", "exc.py, line 2"},
		"miss.txt":   {"FileNotFoundError: nofile.txt not found.", "miss.py, line 3"},
		"lm.txt":     {"AttributeError: module 'numpy' has no attribute 'float'"},
		"pickle.txt": {"PicklingError: Can't pickle <function line"},
		"exists.txt": {"already exists"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "stderr", file))
		if err != nil {
			t.Fatal(err)
		}
		got := Digest(string(b))
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("Digest(%s) = %q, missing %q", file, got, w)
			}
		}
		if len(got) > maxDigest {
			t.Errorf("Digest(%s) is %d bytes", file, len(got))
		}
	}
}

// loadDir is Load on the store at dir.
func loadDir(t *testing.T, dir, name, fitter string) (*Result, error) {
	t.Helper()
	d, err := jobfs.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return Load(d, name, fitter)
}
