package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/fit/expr"
)

// nistModels are the single-predictor NIST StRD models in expr syntax, as
// fit/nist_test.go writes them (Nelson, with two predictors, is left out:
// a bumps Curve takes one x).
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
	"Rat42":    "b1 / (1+exp(b2-b3*x))",
	"Rat43":    "b1 / ((1+exp(b2-b3*x))^(1/b4))",
	"Roszman1": "b1 - b2*x - atan(b3/(x-b4))/pi",
	"Thurber":  "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)",
}

// nistProblem is one StRD file: starts, certified values, data, and the
// bounds both programs use.
type nistProblem struct {
	name         string
	model        string
	x, y         []float64
	starts       [2][]float64
	cert, certSD []float64
	rss, resSD   float64
	lo, hi       []float64
	prog         *expr.Program
}

var (
	nistDataHeader = regexp.MustCompile(`^Data:\s+y\s`)
	nistParamLine  = regexp.MustCompile(`^\s*b(\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$`)
)

func loadNIST(dir, name string) (*nistProblem, error) {
	model, ok := nistModels[name]
	if !ok {
		return nil, fmt.Errorf("%s: not a single-predictor NIST StRD problem", name)
	}
	f, err := os.Open(filepath.Join(dir, name+".dat"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &nistProblem{name: name, model: model}
	var perr error
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("%s: %v", name, err)
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
			if len(fields) != 2 {
				return nil, fmt.Errorf("%s: data line %q: want 2 columns", name, line)
			}
			p.y = append(p.y, num(fields[0]))
			p.x = append(p.x, num(fields[1]))
		case nistDataHeader.MatchString(line):
			inData = true
		case nistParamLine.MatchString(line):
			m := nistParamLine.FindStringSubmatch(line)
			p.starts[0] = append(p.starts[0], num(m[2]))
			p.starts[1] = append(p.starts[1], num(m[3]))
			p.cert = append(p.cert, num(m[4]))
			p.certSD = append(p.certSD, num(m[5]))
		case strings.HasPrefix(line, "Residual Sum of Squares:"):
			p.rss = num(strings.Fields(line)[4])
		case strings.HasPrefix(line, "Residual Standard Deviation:"):
			p.resSD = num(strings.Fields(line)[3])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if len(p.cert) == 0 || p.rss == 0 || len(p.y) == 0 {
		return nil, fmt.Errorf("%s: could not parse the file", name)
	}
	for k := range p.cert {
		lo, hi := wideBounds(p.starts[0][k], p.starts[1][k], p.cert[k])
		p.lo, p.hi = append(p.lo, lo), append(p.hi, hi)
	}
	if p.prog, err = expr.Compile(model, []string{"x"}, p.paramNames()); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return p, nil
}

// wideBounds is a box around the certified value that holds both starts:
// a factor of 10 beyond the extremes for one-signed values, otherwise the
// span again on each side.
func wideBounds(vs ...float64) (lo, hi float64) {
	a, b := vs[0], vs[0]
	for _, v := range vs[1:] {
		a, b = min(a, v), max(b, v)
	}
	switch {
	case a > 0:
		return a / 10, b * 10
	case b < 0:
		return a * 10, b / 10
	default:
		w := max(b-a, 1e-3)
		return a - w, b + w
	}
}

func (p *nistProblem) paramNames() []string {
	names := make([]string, len(p.cert))
	for k := range names {
		names[k] = fmt.Sprintf("b%d", k+1)
	}
	return names
}

// residualSS is the unweighted residual sum of squares at b, computed in
// Go so both programs' answers are scored the same way.
func (p *nistProblem) residualSS(b []float64) float64 {
	if len(b) != len(p.cert) {
		return math.NaN()
	}
	f := make([]float64, len(p.x))
	p.prog.Eval(f, [][]float64{p.x}, b)
	s := 0.0
	for i, v := range f {
		s += (v - p.y[i]) * (v - p.y[i])
	}
	return s
}

// lre is the log relative error of est against ref: the number of
// agreeing significant digits, capped at 16.
func lre(est, ref float64) float64 {
	if est == ref {
		return 16
	}
	if math.IsNaN(est) || math.IsNaN(ref) || math.IsInf(est, 0) {
		return 0
	}
	return max(0, min(16, -math.Log10(math.Abs(est-ref)/math.Abs(ref))))
}

// minLRE is lre minimised over the parameters; NaN when either side is missing.
func minLRE(est, ref []float64) float64 {
	if len(est) == 0 || len(est) != len(ref) {
		return math.NaN()
	}
	d := 16.0
	for k := range est {
		d = min(d, lre(est[k], ref[k]))
	}
	return d
}

// pythonExpr turns an expr model into a numpy expression.
var pyToken = regexp.MustCompile(`\d*\.?\d+(?:[eE][-+]?\d+)?|[A-Za-z_]\w*|\^`)

var pyNames = map[string]string{
	"exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt", "sin": "np.sin", "cos": "np.cos",
	"tan": "np.tan", "atan": "np.arctan", "pi": "np.pi", "abs": "np.abs",
}

func pythonExpr(model string) string {
	return pyToken.ReplaceAllStringFunc(model, func(t string) string {
		if t == "^" {
			return "**"
		}
		if py, ok := pyNames[t]; ok {
			return py
		}
		return t
	})
}
