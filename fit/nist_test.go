package fit

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/fit/internal/nist"
)

// nistProblem is the tests' view of a nist.Problem.
type nistProblem struct {
	name           string
	start1, start2 []float64
	cert, certSD   []float64
	rss, resSD     float64
	cols           [][]float64 // y, then the predictors
}

func loadNIST(t testing.TB, name string) *nistProblem {
	t.Helper()
	np, err := nist.Load(filepath.Join("testdata", "nist"), name)
	if err != nil {
		t.Fatal(err)
	}
	p := &nistProblem{name: name, start1: np.Starts[0], start2: np.Starts[1],
		cert: np.Cert, certSD: np.CertSD, rss: np.RSS, resSD: np.ResSD, cols: [][]float64{np.Y}}
	if np.X != nil {
		p.cols = append(p.cols, np.X)
	} else {
		p.cols = append(p.cols, np.Vars["x1"], np.Vars["x2"])
	}
	return p
}

// specJSON writes a fit spec for the problem from the given start.
func (p *nistProblem) specJSON(fitter string, start []float64, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"fitter": %q, "scale_errors": true, %s "parameters": {`, fitter, extra)
	for k, v := range start {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"b%d": {"value": %s}`, k+1, jsonNum(v))
	}
	fmt.Fprintf(&b, `}, "datasets": [{"model": %q, `, nist.Models[p.name])
	y := p.cols[0]
	if p.name == "Nelson" {
		logy := make([]float64, len(y))
		for i, v := range y {
			logy[i] = math.Log(v)
		}
		fmt.Fprintf(&b, `"y": %s, "vars": {"x1": %s, "x2": %s}}]}`, jsonArr(logy), jsonArr(p.cols[1]), jsonArr(p.cols[2]))
	} else {
		fmt.Fprintf(&b, `"x": %s, "y": %s}]}`, jsonArr(p.cols[1]), jsonArr(y))
	}
	return b.String()
}

func jsonNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func jsonArr(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = jsonNum(v)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// lre is the log relative error: the number of agreeing significant digits.
func lre(est, cert float64) float64 { return nist.LRE(est, cert) }

var nistNames = nist.Names

// nistDigits fits one problem from one start and returns the minimum
// agreeing digits of the parameters, the RSS and the standard deviations.
func nistDigits(t testing.TB, p *nistProblem, fitter string, start []float64, extra string) (params, rss, sd float64, res *Result) {
	t.Helper()
	spec, err := ParseSpec([]byte(p.specJSON(fitter, start, extra)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, err = Run(context.Background(), spec, Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	params, sd = 16, 16
	for k := range p.cert {
		pr := res.Parameters[fmt.Sprintf("b%d", k+1)]
		params = min(params, lre(pr.Value, p.cert[k]))
		sd = min(sd, lre(float64(pr.Stderr), p.certSD[k]))
	}
	return params, lre(res.Chisq, p.rss), sd, res
}

func TestNISTLevenbergMarquardt(t *testing.T) {
	t.Parallel()
	for _, name := range nistNames {
		p := loadNIST(t, name)
		for si, start := range [][]float64{p.start1, p.start2} {
			t.Run(fmt.Sprintf("%s/start%d", name, si+1), func(t *testing.T) {
				t.Parallel()
				dp, dr, ds, res := nistDigits(t, p, "lm", start, "")
				t.Logf("%-9s start %d: params %5.2f  rss %5.2f  sd %5.2f  (%d steps, %d evaluations)", name, si+1, dp, dr, ds, res.Steps, res.Evaluations)
				if dp < 6 {
					t.Errorf("parameters agree to %.2f digits, want 6", dp)
				}
				if name == "Lanczos1" {
					return // its certified RSS and sds are below double precision
				}
				if dr < 6 {
					t.Errorf("RSS %.10g agrees with %.10g to %.2f digits, want 6", res.Chisq, p.rss, dr)
				}
				if ds < 4 {
					t.Errorf("standard deviations agree to %.2f digits, want 4", ds)
				}
			})
		}
	}
}
