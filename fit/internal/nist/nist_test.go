package nist

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
)

var dir = filepath.Join("..", "..", "testdata", "nist")

func TestLoadMisra1a(t *testing.T) {
	p, err := Load(dir, "Misra1a")
	if err != nil {
		t.Fatal(err)
	}
	want := Problem{
		Starts: [2][]float64{{500, 1e-4}, {250, 5e-4}},
		Cert:   []float64{2.3894212918e+02, 5.5015643181e-04},
		CertSD: []float64{2.7070075241e+00, 7.2668688436e-06},
		RSS:    1.2455138894e-01,
		ResSD:  1.0187876330e-01,
	}
	if !slices.Equal(p.Starts[0], want.Starts[0]) || !slices.Equal(p.Starts[1], want.Starts[1]) {
		t.Errorf("starts %v, want %v", p.Starts, want.Starts)
	}
	if !slices.Equal(p.Cert, want.Cert) || !slices.Equal(p.CertSD, want.CertSD) {
		t.Errorf("certified %v ± %v, want %v ± %v", p.Cert, p.CertSD, want.Cert, want.CertSD)
	}
	if p.RSS != want.RSS || p.ResSD != want.ResSD {
		t.Errorf("RSS %g, residual SD %g; want %g, %g", p.RSS, p.ResSD, want.RSS, want.ResSD)
	}
	if p.Model != Models["Misra1a"] || len(p.X) != 14 || len(p.Y) != 14 || p.Vars != nil {
		t.Errorf("model %q, %d x, %d y, vars %v", p.Model, len(p.X), len(p.Y), p.Vars)
	}
	if p.Y[0] != 10.07 || p.X[0] != 77.6 || p.Y[13] != 81.78 || p.X[13] != 760 {
		t.Errorf("data starts (%g, %g), ends (%g, %g)", p.X[0], p.Y[0], p.X[13], p.Y[13])
	}
}

func TestLoadAll(t *testing.T) {
	if len(Names) != 27 || len(Models) != 27 {
		t.Fatalf("%d names, %d models, want 27", len(Names), len(Models))
	}
	for _, name := range Names {
		p, err := Load(dir, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n := len(p.Cert)
		if len(p.Starts[0]) != n || len(p.Starts[1]) != n || len(p.CertSD) != n || p.ResSD <= 0 {
			t.Errorf("%s: %d certified values, starts %v, sds %v, residual sd %g", name, n, p.Starts, p.CertSD, p.ResSD)
		}
		if name == "Nelson" {
			if p.X != nil || len(p.Vars["x1"]) != len(p.Y) || len(p.Vars["x2"]) != len(p.Y) {
				t.Errorf("Nelson: x %v, vars %v", p.X, p.Vars)
			}
		} else if len(p.X) != len(p.Y) || p.Vars != nil {
			t.Errorf("%s: %d x, %d y, vars %v", name, len(p.X), len(p.Y), p.Vars)
		}
	}
	if _, err := Load(dir, "NoSuch"); err == nil {
		t.Error("an unknown problem loaded")
	}
}

func TestLRE(t *testing.T) {
	for _, c := range []struct{ est, cert, want float64 }{
		{1, 1, 16},
		{1.001, 1, 3},
		{-2.0002, -2, 4},
		{math.NaN(), 1, 0},
		{math.Inf(1), 1, 0},
		{1, math.NaN(), 0},
		{100, 1, 0}, // off by more than the value itself
	} {
		if got := LRE(c.est, c.cert); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("LRE(%g, %g) = %g, want %g", c.est, c.cert, got, c.want)
		}
	}
	if got := MinLRE([]float64{1, 1.001}, []float64{1, 1}); math.Abs(got-3) > 1e-9 {
		t.Errorf("MinLRE = %g, want 3", got)
	}
	if !math.IsNaN(MinLRE(nil, nil)) || !math.IsNaN(MinLRE([]float64{1}, []float64{1, 2})) {
		t.Error("MinLRE of missing values is not NaN")
	}
}
