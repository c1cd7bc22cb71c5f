package expr

import (
	"math"
	"testing"
)

// fdCheck compares p.Deriv(k) with a central finite difference of p at each x.
func fdCheck(t *testing.T, p *Program, xs, params []float64, tol float64) {
	t.Helper()
	n := len(xs)
	cols := [][]float64{xs}
	for k := range params {
		d := p.Deriv(k)
		got := make([]float64, n)
		d.Eval(got, cols, params)
		h := 1e-6 * math.Max(1, math.Abs(params[k]))
		up, down := make([]float64, n), make([]float64, n)
		pp := append([]float64(nil), params...)
		pp[k] = params[k] + h
		p.Eval(up, cols, pp)
		pp[k] = params[k] - h
		p.Eval(down, cols, pp)
		for i := range xs {
			fd := (up[i] - down[i]) / (2 * h)
			scale := math.Max(1, math.Max(math.Abs(fd), math.Abs(got[i])))
			if math.IsNaN(got[i]) || math.Abs(got[i]-fd) > tol*scale {
				t.Errorf("d/d%s of %s at x=%v: got %v, finite difference %v\n(derivative %s)",
					p.params[k], p, xs[i], got[i], fd, d)
			}
		}
	}
}

func TestDerivFiniteDifference(t *testing.T) {
	t.Parallel()
	// Arguments stay inside every function's domain: a*x+b is in (0.14, 0.7).
	xs := []float64{0.1, 0.3, 0.55, 0.7}
	params := []float64{0.9, 0.05}
	srcs := []string{
		"a + x*b", "a - b*x", "-a*x", "+a", "a*b*x", "a/(b+x)", "(a*x)/b", "x/a/b",
		"exp(a*x+b)", "log(a*x+b)", "log10(a*x+b)", "sqrt(a*x+b)",
		"sin(a*x+b)", "cos(a*x+b)", "tan(a*x+b)", "asin(a*x+b)", "acos(a*x+b)", "atan(a*x+b)",
		"sinh(a*x+b)", "cosh(a*x+b)", "tanh(a*x+b)", "erf(a*x+b)", "erfc(a*x+b)",
		"abs(a*x-b-0.3)", "abs(a - b)",
		"atan2(a*x, b+x)", "atan2(a, x)", "atan2(x, b)", "atan2(a, b)",
		"(a*x)^2", "(a*x)^3", "(a*x+b)^5", "(a*x)^-2", "(a*x)^0.5", "(a*x)^2.5",
		"x^a", "a^x", "(a*x)^(b*x)", "pow(a*x, b)", "pow(a, b)", "2^(a*x)", "x^(a+b)",
		"a*exp(-(x-b)^2/(2*a^2)) + b",
		"(a + b*x + a*x^2 + b*x^3) / (1 + a*x + b*x^2 + a*x^3)",
		"exp(-a*x)*cos(b*x) + sqrt(a^2+b^2)",
		"pi*a*x", "a*x + 0*b",
	}
	for _, src := range srcs {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(src, []string{"x"}, []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			fdCheck(t, p, xs, params, 1e-6)
		})
	}
}

func TestSecondDeriv(t *testing.T) {
	t.Parallel()
	xs := []float64{0.1, 0.4, 0.9}
	params := []float64{0.7, 1.3}
	for _, src := range []string{
		"a*exp(-(x-b)^2/(2*a^2))",
		"(a*x)^(b*x)",
		"atan2(a*x, b) + log(a+b*x)",
		"sin(a*x)*tanh(b*x)/(1+a*b)",
		"erf(a*x) - erfc(b*x)",
	} {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(src, []string{"x"}, []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			for k := range params {
				fdCheck(t, p.Deriv(k), xs, params, 1e-6)
			}
		})
	}
}

func TestDerivSimplified(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"a*x", "x"},
		{"a*x + b", "x"},
		{"3*a", "3"},
		{"a^2", "(2*a)"},
		{"a^3*x", "((3*(a^2))*x)"},
		{"exp(a)", "exp(a)"},
		{"b - a", "(-1)"},
		{"x/a", "(-(x/(a^2)))"},
		{"2*(3*a)", "6"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.src, []string{"x"}, []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Deriv(0).String(); got != tt.want {
				t.Errorf("Deriv = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDerivLongProduct checks that derivatives of big expressions stay small thanks to
// shared subtrees; written out as a tree this derivative would have ~10^8 nodes.
func TestDerivLongProduct(t *testing.T) {
	t.Parallel()
	src := "a"
	for range 3000 {
		src += "*(a+x)"
	}
	p, err := Compile(src, []string{"x"}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	d := p.Deriv(0)
	if len(d.vcode) > 20*len(p.vcode) {
		t.Errorf("derivative has %d instructions, program %d", len(d.vcode), len(p.vcode))
	}
	got := eval1(d, []float64{0}, []float64{1})
	if got != 3001 { // d/da a^3001 at a=1
		t.Errorf("derivative = %v, want 3001", got)
	}
	if s := d.String(); len(s) > maxStringLen+3 {
		t.Errorf("String length %d", len(s))
	}
}
