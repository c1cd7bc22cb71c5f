package expr

import (
	"math"
	"testing"
)

// The benchmarks compare compiled evaluation with the same model written as a plain Go
// loop, which is the stated speed goal (within 2x). Run them with
//
//	go test -run '^$' -bench . -benchmem ./fit/expr/
const benchN = 1000

func benchX() []float64 {
	x := make([]float64, benchN)
	for i := range x {
		x[i] = 0.5 + 3*float64(i)/benchN
	}
	return x
}

func benchEval(b *testing.B, src string, params []string, pv []float64, deriv int) {
	p, err := Compile(src, []string{"x"}, params)
	if err != nil {
		b.Fatal(err)
	}
	if deriv >= 0 {
		p = p.Deriv(deriv)
	}
	x, out := benchX(), make([]float64, benchN)
	cols := [][]float64{x}
	b.ReportAllocs()
	for b.Loop() {
		p.Eval(out, cols, pv)
	}
}

const (
	misra1a  = "b1*(1-exp(-b2*x))"
	thurber  = "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)"
	gaussian = "a*exp(-(x-c)^2/(2*s^2)) + bg"
)

var (
	misraP   = []float64{240, 5.5e-4}
	thurberP = []float64{1288, 1491, 583, 75.4, 0.966, 0.398, 0.0497}
	gaussP   = []float64{10, 2, 0.4, 0.1}
	sink     float64
)

func BenchmarkEvalMisra1a(b *testing.B) {
	benchEval(b, misra1a, []string{"b1", "b2"}, misraP, -1)
}

func BenchmarkHandwrittenMisra1a(b *testing.B) {
	x, out := benchX(), make([]float64, benchN)
	b1, b2 := misraP[0], misraP[1]
	for b.Loop() {
		for i, xi := range x {
			out[i] = b1 * (1 - math.Exp(-b2*xi))
		}
	}
	sink = out[0]
}

func BenchmarkEvalThurber(b *testing.B) {
	benchEval(b, thurber, []string{"b1", "b2", "b3", "b4", "b5", "b6", "b7"}, thurberP, -1)
}

func BenchmarkHandwrittenThurber(b *testing.B) {
	x, out := benchX(), make([]float64, benchN)
	p := thurberP
	for b.Loop() {
		for i, xi := range x {
			x2 := xi * xi
			x3 := x2 * xi
			out[i] = (p[0] + p[1]*xi + p[2]*x2 + p[3]*x3) / (1 + p[4]*xi + p[5]*x2 + p[6]*x3)
		}
	}
	sink = out[0]
}

func BenchmarkEvalGaussian(b *testing.B) {
	benchEval(b, gaussian, []string{"a", "c", "s", "bg"}, gaussP, -1)
}

func BenchmarkHandwrittenGaussian(b *testing.B) {
	x, out := benchX(), make([]float64, benchN)
	a, c, s, bg := gaussP[0], gaussP[1], gaussP[2], gaussP[3]
	for b.Loop() {
		for i, xi := range x {
			d := xi - c
			out[i] = a*math.Exp(-d*d/(2*s*s)) + bg
		}
	}
	sink = out[0]
}

// BenchmarkDerivMisra1a evaluates d/db2 = b1*exp(-b2*x)*x.
func BenchmarkDerivMisra1a(b *testing.B) {
	benchEval(b, misra1a, []string{"b1", "b2"}, misraP, 1)
}

func BenchmarkHandwrittenDerivMisra1a(b *testing.B) {
	x, out := benchX(), make([]float64, benchN)
	b1, b2 := misraP[0], misraP[1]
	for b.Loop() {
		for i, xi := range x {
			out[i] = b1 * math.Exp(-b2*xi) * xi
		}
	}
	sink = out[0]
}

// BenchmarkDerivGaussian evaluates the derivative with respect to the width s.
func BenchmarkDerivGaussian(b *testing.B) {
	benchEval(b, gaussian, []string{"a", "c", "s", "bg"}, gaussP, 2)
}

func BenchmarkHandwrittenDerivGaussian(b *testing.B) {
	x, out := benchX(), make([]float64, benchN)
	a, c, s := gaussP[0], gaussP[1], gaussP[2]
	for b.Loop() {
		for i, xi := range x {
			d := xi - c
			out[i] = a * math.Exp(-d*d/(2*s*s)) * d * d / (s * s * s)
		}
	}
	sink = out[0]
}

// BenchmarkDerivThurber evaluates the derivative with respect to a denominator term.
func BenchmarkDerivThurber(b *testing.B) {
	benchEval(b, thurber, []string{"b1", "b2", "b3", "b4", "b5", "b6", "b7"}, thurberP, 5)
}

func BenchmarkCompileThurber(b *testing.B) {
	params := []string{"b1", "b2", "b3", "b4", "b5", "b6", "b7"}
	for b.Loop() {
		if _, err := Compile(thurber, []string{"x"}, params); err != nil {
			b.Fatal(err)
		}
	}
}
