package main

import (
	"fmt"
	"math"
	"regexp"

	"github.com/bumpserve/bumpserve/fit/expr"
	"github.com/bumpserve/bumpserve/fit/internal/nist"
)

// nistProblem is a single-predictor NIST StRD problem (Nelson, with two
// predictors, is left out: a bumps Curve takes one x) with the bounds both
// programs use.
type nistProblem struct {
	*nist.Problem
	lo, hi []float64
	prog   *expr.Program
}

func loadNIST(dir, name string) (*nistProblem, error) {
	notOne := fmt.Errorf("%s: not a single-predictor NIST StRD problem", name)
	if _, ok := nist.Models[name]; !ok {
		return nil, notOne
	}
	np, err := nist.Load(dir, name)
	if err != nil {
		return nil, err
	}
	if np.X == nil {
		return nil, notOne
	}
	p := &nistProblem{Problem: np}
	for k := range p.Cert {
		lo, hi := wideBounds(p.Starts[0][k], p.Starts[1][k], p.Cert[k])
		p.lo, p.hi = append(p.lo, lo), append(p.hi, hi)
	}
	if p.prog, err = expr.Compile(p.Model, []string{"x"}, p.paramNames()); err != nil {
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
	names := make([]string, len(p.Cert))
	for k := range names {
		names[k] = fmt.Sprintf("b%d", k+1)
	}
	return names
}

// residualSS is the unweighted residual sum of squares at b, computed in
// Go so both programs' answers are scored the same way.
func (p *nistProblem) residualSS(b []float64) float64 {
	if len(b) != len(p.Cert) {
		return math.NaN()
	}
	f := make([]float64, len(p.X))
	p.prog.Eval(f, [][]float64{p.X}, b)
	s := 0.0
	for i, v := range f {
		s += (v - p.Y[i]) * (v - p.Y[i])
	}
	return s
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
