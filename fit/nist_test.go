package fit

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// nistModels are the NIST StRD nonlinear regression models, transcribed
// from each file's "Model:" section into expr syntax.
var nistModels = map[string]string{
	"Bennett5": "b1 * (b2+x)^(-1/b3)",
	"BoxBOD":   "b1*(1-exp(-b2*x))",
	"Chwirut1": "exp(-b1*x)/(b2+b3*x)",
	"Chwirut2": "exp(-b1*x)/(b2+b3*x)",
	"DanWood":  "b1*x^b2",
	"ENSO": "b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4)" +
		" + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7)",
	"Eckerle4": "(b1/b2) * exp(-0.5*((x-b3)/b2)^2)",
	"Gauss1":   "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
	"Gauss2":   "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
	"Gauss3":   "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
	"Hahn1":    "(b1+b2*x+b3*x^2+b4*x^3) / (1+b5*x+b6*x^2+b7*x^3)",
	"Kirby2":   "(b1 + b2*x + b3*x^2) / (1 + b4*x + b5*x^2)",
	"Lanczos1": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
	"Lanczos2": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
	"Lanczos3": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
	"MGH09":    "b1*(x^2+x*b2) / (x^2+x*b3+b4)",
	"MGH10":    "b1 * exp(b2/(x+b3))",
	"MGH17":    "b1 + b2*exp(-x*b4) + b3*exp(-x*b5)",
	"Misra1a":  "b1*(1-exp(-b2*x))",
	"Misra1b":  "b1 * (1-(1+b2*x/2)^(-2))",
	"Misra1c":  "b1 * (1-(1+2*b2*x)^(-.5))",
	"Misra1d":  "b1*b2*x*((1+b2*x)^(-1))",
	"Nelson":   "b1 - b2*x1 * exp(-b3*x2)", // fitted to log(y)
	"Rat42":    "b1 / (1+exp(b2-b3*x))",
	"Rat43":    "b1 / ((1+exp(b2-b3*x))^(1/b4))",
	"Roszman1": "b1 - b2*x - atan(b3/(x-b4))/pi",
	"Thurber":  "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)",
}

// nistProblem is one StRD file: starts, certified values, data.
type nistProblem struct {
	name           string
	start1, start2 []float64
	cert, certSD   []float64
	rss, resSD     float64
	cols           [][]float64 // y, then the predictors
}

var nistDataHeader = regexp.MustCompile(`^Data:\s+y\s`)

var nistParamLine = regexp.MustCompile(`^\s*b(\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$`)

func loadNIST(t testing.TB, name string) *nistProblem {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "nist", name+".dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &nistProblem{name: name}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	sc := bufio.NewScanner(f)
	inData := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inData:
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			for len(p.cols) < len(fields) {
				p.cols = append(p.cols, nil)
			}
			for j, s := range fields {
				p.cols[j] = append(p.cols[j], num(s))
			}
		case nistDataHeader.MatchString(line):
			inData = true
		case nistParamLine.MatchString(line):
			m := nistParamLine.FindStringSubmatch(line)
			p.start1 = append(p.start1, num(m[2]))
			p.start2 = append(p.start2, num(m[3]))
			p.cert = append(p.cert, num(m[4]))
			p.certSD = append(p.certSD, num(m[5]))
		case strings.HasPrefix(line, "Residual Sum of Squares:"):
			p.rss = num(strings.Fields(line)[4])
		case strings.HasPrefix(line, "Residual Standard Deviation:"):
			p.resSD = num(strings.Fields(line)[3])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(p.cert) == 0 || p.rss == 0 || len(p.cols) < 2 {
		t.Fatalf("%s: could not parse the file", name)
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
	fmt.Fprintf(&b, `}, "datasets": [{"model": %q, `, nistModels[p.name])
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
func lre(est, cert float64) float64 {
	if est == cert {
		return 16
	}
	if math.IsNaN(est) {
		return 0
	}
	return min(16, -math.Log10(math.Abs(est-cert)/math.Abs(cert)))
}

var nistNames = []string{
	"Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b",
	"Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c", "Misra1d",
	"Roszman1", "ENSO", "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5",
}

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
