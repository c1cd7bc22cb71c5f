package expr

import (
	"math"
	"sync"
	"testing"
)

// reference evaluates the tree directly, point by point: the slow but obvious semantics
// the compiled code must match.
func reference(n *node, vars []float64, params []float64) float64 {
	switch n.op {
	case opConst:
		return n.val
	case opVar:
		return vars[n.idx]
	case opParam:
		return params[n.idx]
	}
	x := reference(n.a, vars, params)
	var y float64
	if n.b != nil {
		y = reference(n.b, vars, params)
	}
	return apply(n.op, n.fn, x, y)
}

func TestEvalSizes(t *testing.T) {
	t.Parallel()
	srcs := []string{
		"x", "a", "3", "a*x^2 + b*y - x*y/c", "exp(-a*x)*sin(y) + x^7 - y^-3",
		"(a + b*x + c*x^2 + a*x^3) / (1 + b*x + c*x^2 + a*x^3)", "atan2(y, x) + x^y + a^x + x^c",
		"x*y + y*x + (x*y)*(x*y)", "abs(x-y)+sign_free",
	}
	for _, src := range srcs {
		p, err := Compile(src, []string{"x", "y", "sign_free"}, []string{"a", "b", "c"})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for _, n := range []int{0, 1, 2, blockSize - 1, blockSize, blockSize + 1, 3*blockSize + 17} {
			x, y, z := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range x {
				x[i] = 0.1 + float64(i)/100
				y[i] = 2 - float64(i%7)/3
				z[i] = -x[i]
			}
			params := []float64{0.5, -1.25, 2}
			out := make([]float64, n)
			for i := range out {
				out[i] = math.NaN() // catch points left unwritten
			}
			p.Eval(out, [][]float64{x, y, z}, params)
			for i := range out {
				want := reference(p.root, []float64{x[i], y[i], z[i]}, params)
				if !same(out[i], want, 1e-14) {
					t.Errorf("%s, n=%d, i=%d: got %v, want %v", src, n, i, out[i], want)
					break
				}
			}
		}
	}
}

func TestEvalLongerColumns(t *testing.T) {
	t.Parallel()
	p, err := Compile("x*2", []string{"x", "unused"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 2)
	p.Eval(out, [][]float64{{1, 2, 3}}, nil) // unused columns may be missing
	if out[0] != 2 || out[1] != 4 {
		t.Errorf("got %v", out)
	}
}

func TestEvalConcurrent(t *testing.T) {
	t.Parallel()
	p, err := Compile("a*exp(-(x-c)^2/(2*s^2)) + bg", []string{"x"}, []string{"a", "c", "s", "bg"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i) / 100
	}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params := []float64{float64(g), 5, 1.5, 0.1}
			out := make([]float64, n)
			for range 20 {
				prog := p
				if g%2 == 1 {
					prog = p.Deriv(g % 4) // the cache is also shared
				}
				prog.Eval(out, [][]float64{x}, params)
				for i := range out {
					if want := reference(prog.root, []float64{x[i]}, params); !same(out[i], want, 1e-14) {
						t.Errorf("goroutine %d, i=%d: got %v, want %v", g, i, out[i], want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestPowi(t *testing.T) {
	t.Parallel()
	for _, x := range []float64{0, -0.0, 1.1, -3.7, 1e-10, 1e10, math.Inf(1), math.Inf(-1), math.NaN()} {
		for n := -maxPowi; n <= maxPowi; n++ {
			got, want := powi(x, n), math.Pow(x, float64(n))
			if !same(got, want, 1e-14) && !(math.IsInf(want, 0) && math.IsInf(got, 0)) {
				t.Errorf("powi(%v, %d) = %v, want %v", x, n, got, want)
			}
		}
	}
}

// TestSumChainsExact checks that fused sums (one pass for base + a1*s1 + ...) give
// bit-for-bit the same results as evaluating the source operation by operation.
func TestSumChainsExact(t *testing.T) {
	t.Parallel()
	srcs := []string{
		"a + b*x + c*x*x + a*y",
		"a - b*x - c*y - x - y*y + x*a",
		"x - y - a*x - (b*y - x)*c",
		"x*a + y*b",
		"x*a + y*b + x*y",
		"a*x + b + c*y",
		"(x + y) + (x*a + y*b) + (x - y)*c",
		"-(a*x) - b*y",
		"x + x*a + x*b + x*c + y + y*a + y*b",
		"(b + a*x + c*x*x + a*x*x*x) / (1 + c*x + b*x*x + a*x*x*x)",
	}
	n := 600
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = math.Sin(float64(i)) * 1e3
		y[i] = math.Cos(float64(i)*0.7) / 3
	}
	x[0], y[1], x[2] = math.Inf(1), math.NaN(), math.Copysign(0, -1)
	params := []float64{0.3, -1.7, 1e-5}
	for _, src := range srcs {
		p, err := Compile(src, []string{"x", "y"}, []string{"a", "b", "c"})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, n)
		p.Eval(out, [][]float64{x, y}, params)
		for i := range out {
			want := reference(p.root, []float64{x[i], y[i]}, params)
			if math.Float64bits(out[i]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(out[i])) {
				t.Errorf("%s at i=%d: got %v, want %v", src, i, out[i], want)
				break
			}
		}
	}
}
