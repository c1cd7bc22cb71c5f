package expr

import (
	"errors"
	"math"
	"testing"
)

// FuzzCompile checks that Compile never panics or hangs, that its errors are *Error
// values with sane positions, and that whatever compiles can be evaluated, printed and
// differentiated (twice) without panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"b1*(1-exp(-b2*x))",
		"(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)",
		"a*exp(-(x-c)^2/(2*s^2)) + bg",
		"-x^2", "2^3^2", "2^-1", "a-b-c", "a/b/c", ".5e-3*t", "2.*T",
		"atan2(y, x) + pow(x, y) + abs(x) + sign", "erf(x)*erfc(a) - log10(b) + sqrt(c)",
		"asin(x)+acos(x)+atan(x)+sinh(x)+cosh(x)+tanh(x)+sin(x)+cos(x)+tan(x)+pi",
		"x^0.5 + x^-3 + x^40 + (a*x)^(b*y) + 0*x + 1/0",
		"(((x)))", "exp(", "1e999", "x $", "", "log(x, y)", "foo(x)", "a b",
	} {
		f.Add(s)
	}
	vars := []string{"x", "y", "t", "T"}
	params := []string{"a", "b", "c", "s", "bg", "b1", "b2", "b3", "b4", "b5", "b6", "b7"}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src, vars, params)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Pos > len(src) || e.Pos < -1 {
				t.Fatalf("error position %d outside source of length %d", e.Pos, len(src))
			}
			return
		}
		_ = p.String()
		cols := [][]float64{
			{0, 1, -1, 0.5, math.Inf(1)},
			{2, -0.0, 1e300, math.NaN(), 3},
			{1, 2, 3, 4, 5},
			{-1, -2, -3, -4, -5},
		}
		pv := make([]float64, len(params))
		for i := range pv {
			pv[i] = 0.5 + float64(i)
		}
		out := make([]float64, 5)
		p.Eval(out, cols, pv)
		for k := range params {
			if !p.UsesParam(k) {
				continue
			}
			d := p.Deriv(k)
			d.Eval(out, cols, pv)
			// One second derivative per program keeps the fuzzer fast.
			d.Deriv(k).Eval(out[:3], cols, pv)
		}
	})
}
