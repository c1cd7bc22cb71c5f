package expr

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// eval1 evaluates p at a single point.
func eval1(p *Program, vars []float64, params []float64) float64 {
	cols := make([][]float64, len(vars))
	for i, v := range vars {
		cols[i] = []float64{v}
	}
	out := make([]float64, 1)
	p.Eval(out, cols, params)
	return out[0]
}

func TestParseString(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"-x^2", "(-(x^2))"},
		{"2^3^2", "512"},
		{"a^b^c", "(a^(b^c))"},
		{"2^-1", "0.5"},
		{"a^-b", "(a^(-b))"},
		{"a-b-c", "((a-b)-c)"},
		{"a/b/c", "((a/b)/c)"},
		{"a+b*c", "(a+(b*c))"},
		{"(a+b)*c", "((a+b)*c)"},
		{"a*b^c", "(a*(b^c))"},
		{"-a*b", "((-a)*b)"},
		{"a*-b", "(a*(-b))"},
		{"+a", "a"},
		{"--a", "(-(-a))"},
		{"-2^2", "(-4)"},
		{"(-2)^2", "4"},
		{" \ta\n+\r b ", "(a+b)"},
		{"1.5e-3*x", "(0.0015*x)"},
		{".5+x", "(0.5+x)"},
		{"2.+x", "(2+x)"},
		{"1E3*x", "(1000*x)"},
		{"2e+2*x", "(200*x)"},
		{"pi*x", "(pi*x)"},
		{"2*3*x", "(6*x)"},
		{"x*2*3", "((x*2)*3)"},
		{"pow(x, 2)", "(x^2)"},
		{"atan2(x, a)", "atan2(x, a)"},
		{"exp(log(2))*x", "(2*x)"},
		{"x_1 + T + _t9", "((x_1+T)+_t9)"},
		{"0*x", "(0*x)"}, // not simplified: 0*Inf must stay NaN in user expressions
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.src, []string{"x", "x_1", "T", "_t9"}, []string{"a", "b", "c"})
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNumbersAndPrecedenceValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want float64
	}{
		{"-x^2", -9},
		{"2^3^2", 512},
		{"2^-1", 0.5},
		{"x-2-1", 0},
		{"x/3/2", 0.5},
		{"1.5e-3", 1.5e-3},
		{".5", 0.5},
		{"2.", 2},
		{"1e308*10", math.Inf(1)},
		{"pi", math.Pi},
		{"x^0.5", math.Sqrt(3)},
		{"x^-2", 1.0 / 9},
		{"x^5", 243},
		{"x^2.5", math.Pow(3, 2.5)},
		{"(-x)^3", -27},
		{"0/0", math.NaN()},
		{"log(-x)", math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.src, []string{"x"}, nil)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got := eval1(p, []float64{3}, nil)
			if !same(got, tt.want, 1e-15) {
				t.Errorf("= %v, want %v", got, tt.want)
			}
		})
	}
}

// same reports whether a and b agree to relative tolerance tol, treating NaNs as equal
// and infinities as equal only to themselves.
func same(a, b, tol float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return a == b
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestFunctionValues(t *testing.T) {
	t.Parallel()
	one := map[string]func(float64) float64{
		"exp": math.Exp, "log": math.Log, "log10": math.Log10, "sqrt": math.Sqrt,
		"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "asin": math.Asin,
		"acos": math.Acos, "atan": math.Atan, "sinh": math.Sinh, "cosh": math.Cosh,
		"tanh": math.Tanh, "abs": math.Abs, "erf": math.Erf, "erfc": math.Erfc,
	}
	two := map[string]func(float64, float64) float64{"atan2": math.Atan2, "pow": math.Pow}
	xs := []float64{-2.5, -1, -0.3, 0, 0.4, 1, 2.7, 30, math.Inf(1), math.NaN()}
	for name, f := range one {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(name+"(x)", []string{"x"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float64, len(xs))
			p.Eval(out, [][]float64{xs}, nil)
			for i, x := range xs {
				if want := f(x); !same(out[i], want, 0) {
					t.Errorf("%s(%v) = %v, want %v", name, x, out[i], want)
				}
			}
		})
	}
	for name, f := range two {
		// Every operand shape: vector-vector, vector-scalar, scalar-vector.
		for _, src := range []string{name + "(x, y)", name + "(x, a)", name + "(a, y)"} {
			t.Run(src, func(t *testing.T) {
				t.Parallel()
				p, err := Compile(src, []string{"x", "y"}, []string{"a"})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range xs {
					for _, y := range xs {
						a := 1.7
						got := eval1(p, []float64{x, y}, []float64{a})
						var want float64
						switch src {
						case name + "(x, y)":
							want = f(x, y)
						case name + "(x, a)":
							want = f(x, a)
						default:
							want = f(a, y)
						}
						if !same(got, want, 0) {
							t.Errorf("%s at x=%v y=%v = %v, want %v", src, x, y, got, want)
						}
					}
				}
			})
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("(", MaxDepth+1) + "x" + strings.Repeat(")", MaxDepth+1)
	tests := []struct {
		name, src string
		vars      []string
		pos       int
		msg       string // Error() must equal this
	}{
		{"unknown name", "b1*b2*b3", []string{"x"}, 6, `at column 7: unknown name "b3" (parameters: b1, b2; variables: x)`},
		{"unknown name no params", "y", nil, 0, `at column 1: unknown name "y" (parameters: b1, b2; variables: none)`},
		{"case sensitive", "B1", []string{"x"}, 0, `at column 1: unknown name "B1" (parameters: b1, b2; variables: x)`},
		{"unknown function", "2*foo(x)", []string{"x"}, 2, `at column 3: unknown function "foo"`},
		{"param as function", "b1(x)", []string{"x"}, 0, `at column 1: unknown function "b1"`},
		{"function without call", "exp+1", []string{"x"}, 0, `at column 1: function exp needs arguments in parentheses`},
		{"too many args", "x + log(x, 2)", []string{"x"}, 4, `at column 5: log takes 1 argument, got 2`},
		{"too few args", "atan2(x)", []string{"x"}, 0, `at column 1: atan2 takes 2 arguments, got 1`},
		{"pow args", "pow(x)", []string{"x"}, 0, `at column 1: pow takes 2 arguments, got 1`},
		{"empty args", "exp()", []string{"x"}, 4, `at column 5: unexpected ")"`},
		{"unbalanced close", "x + )", []string{"x"}, 4, `at column 5: unexpected ")"`},
		{"extra close", "(x))", []string{"x"}, 3, `at column 4: unexpected ")"`},
		{"unbalanced open", "(x", []string{"x"}, 2, `at end: expected ")"`},
		{"unclosed call", "exp(x", []string{"x"}, 5, `at end: expected ")"`},
		{"wrong closer", "exp(x b1", []string{"x"}, 6, `at column 7: expected ")", got "b1"`},
		{"trailing garbage", "x y", []string{"x", "y"}, 2, `at column 3: unexpected "y"`},
		{"trailing number", "2x", []string{"x"}, 1, `at column 2: unexpected "x"`},
		{"dangling operator", "x+", []string{"x"}, 2, `at end: expected an expression`},
		{"double operator", "x*/2", []string{"x"}, 2, `at column 3: unexpected "/"`},
		{"bad character", "x $ 2", []string{"x"}, 2, `at column 3: unexpected character '$'`},
		{"unicode", "x·2", []string{"x"}, 1, `at column 2: unexpected character '·'`},
		{"lone dot", "x+.", []string{"x"}, 2, `at column 3: unexpected "."`},
		{"bad exponent", "1e+x", []string{"x"}, 0, `at column 1: malformed number "1e+"`},
		{"number overflow", "1e999", []string{"x"}, 0, `at column 1: number "1e999" out of range`},
		{"empty", "", []string{"x"}, 0, `at end: empty expression`},
		{"blank", "   ", []string{"x"}, 3, `at end: empty expression`},
		{"too long", strings.Repeat(" ", MaxSourceLen) + "x", []string{"x"}, MaxSourceLen, `at column 65537: expression longer than 65536 bytes`},
		{"too deep", deep, []string{"x"}, MaxDepth, `at column 201: nesting deeper than 200`},
		{"too deep unary", strings.Repeat("-", 300) + "x", []string{"x"}, MaxDepth, `at column 201: nesting deeper than 200`},
		{"too many nodes", strings.Repeat("x+", 10001) + "x", []string{"x"}, 20001, `at column 20002: expression has more than 20000 nodes`},
		{"both lists", "b1", []string{"x", "b1"}, -1, `name "b1" is both a variable and a parameter`},
		{"twice", "x", []string{"x", "x"}, -1, `name "x" given twice`},
		{"reserved", "x", []string{"x", "pi"}, -1, `name "pi" is reserved`},
		{"invalid name", "x", []string{"x", "1y"}, -1, `invalid name "1y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.src, tt.vars, []string{"b1", "b2"})
			if err == nil {
				t.Fatalf("Compile succeeded: %s", p)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if e.Pos != tt.pos || e.Error() != tt.msg {
				t.Errorf("got Pos %d %q\nwant Pos %d %q", e.Pos, e.Error(), tt.pos, tt.msg)
			}
		})
	}
}

func TestLimitsJustInside(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		strings.Repeat("(", MaxDepth-1) + "x" + strings.Repeat(")", MaxDepth-1),
		strings.Repeat("x+", 9999) + "x", // 19999 nodes
	} {
		p, err := Compile(src, []string{"x"}, nil)
		if err != nil {
			t.Fatalf("Compile(%.20q...): %v", src, err)
		}
		if got := eval1(p, []float64{1}, nil); got != float64(strings.Count(src, "x")) {
			t.Errorf("value %v", got)
		}
	}
}

func TestUses(t *testing.T) {
	t.Parallel()
	p, err := Compile("a*x + 0*c + c - c", []string{"x", "t"}, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	wantP := []bool{true, false, true}
	for k, w := range wantP {
		if p.UsesParam(k) != w {
			t.Errorf("UsesParam(%d) = %v", k, !w)
		}
	}
	if !p.UsesVar(0) || p.UsesVar(1) || p.UsesVar(2) || p.UsesParam(-1) {
		t.Errorf("UsesVar wrong")
	}
	if d := p.Deriv(1); d.String() != "0" || d.UsesParam(0) {
		t.Errorf("Deriv of unused parameter = %s", d)
	}
}
