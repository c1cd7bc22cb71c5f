package fit

import (
	"math"
	"strings"
	"testing"
)

func TestParseSpecInit(t *testing.T) {
	t.Parallel()
	const tmpl = `{"fitter": "dream", "options": {"init": %s}, "parameters": {"a": {"value": 1}, "b": {"min": 0, "max": 2}},
		"datasets": [{"model": "a*x+b", "x": [1, 2, 3], "y": [1, 2, 3]}]}`
	for _, init := range dreamInits {
		if _, err := ParseSpec([]byte(strings.Replace(tmpl, "%s", `"`+init+`"`, 1))); err != nil {
			t.Errorf("init %q: %v", init, err)
		}
	}
	_, err := ParseSpec([]byte(strings.Replace(tmpl, "%s", `"ball"`, 1)))
	if err == nil || !strings.HasPrefix(err.Error(), "options.init:") || !strings.Contains(err.Error(), "ball") {
		t.Errorf("init \"ball\": error %v, want one naming options.init and the value", err)
	}
	// b has no start value, so dream cannot centre a ball on it ...
	s, err := ParseSpec([]byte(strings.Replace(tmpl, `"options": {"init": %s}, `, "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Options.noStart {
		t.Error("a free parameter without a value does not mark the spec as having no start")
	}
	// ... unless b is fixed, when only a's start matters.
	s, err = ParseSpec([]byte(strings.Replace(strings.Replace(tmpl, `"options": {"init": %s}, `, "", 1), `"max": 2}`, `"max": 2, "fixed": true}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Options.noStart {
		t.Error("a fixed parameter without a value marks the spec as having no start")
	}
}

// popRunner is enough of a runner for the initialisers that need no
// evaluations.
func popRunner(init string, noStart bool) *runner {
	return &runner{opts: FitOptions{Init: init, noStart: noStart}}
}

func TestDREAMPopulations(t *testing.T) {
	t.Parallel()
	x0 := []float64{5, -2, 0.5}
	lo := []float64{0.5, math.Inf(-1), 0.5}
	hi := []float64{50, math.Inf(1), 1}
	const n = 200
	check := func(t *testing.T, pop [][]float64) {
		t.Helper()
		if len(pop) != n {
			t.Fatalf("%d chains, want %d", len(pop), n)
		}
		for j := range x0 {
			if pop[0][j] != x0[j] {
				t.Errorf("chain 0 is %v, want the start %v", pop[0], x0)
			}
		}
		for _, x := range pop {
			if !inBox(x, lo, hi) {
				t.Fatalf("chain %v outside the box", x)
			}
		}
	}
	t.Run("eps", func(t *testing.T) {
		t.Parallel()
		pop, _, _, err := dreamPopulation(popRunner("eps", false), newRand(1), x0, lo, hi, n)
		if err != nil {
			t.Fatal(err)
		}
		check(t, pop)
		// Within 1e-6 of the range (of |start| when unbounded), and x0[2]
		// sits on its lower bound, so draws below it are folded inside.
		scale := []float64{1e-6 * 49.5, 1e-6 * 2, 1e-6 * 0.5}
		moved := false
		for _, x := range pop[1:] {
			for j := range x {
				if d := math.Abs(x[j] - x0[j]); d > scale[j] {
					t.Fatalf("chain %v more than %g from the start in parameter %d", x, scale[j], j)
				}
				moved = moved || x[j] != x0[j]
			}
		}
		if !moved {
			t.Error("every chain is at the start")
		}
	})
	t.Run("no start falls back to uniform", func(t *testing.T) {
		t.Parallel()
		pop, _, _, err := dreamPopulation(popRunner("eps", true), newRand(1), x0, lo, hi, n)
		if err != nil {
			t.Fatal(err)
		}
		check(t, pop)
		// n uniform draws over [0.5, 50] leave gaps of a few % at most.
		a, b := pop[1][0], pop[1][0]
		for _, x := range pop[1:] {
			a, b = min(a, x[0]), max(b, x[0])
		}
		if a > 0.5+0.1*49.5 || b < 50-0.1*49.5 {
			t.Errorf("parameter 0 spans [%g, %g], want most of [0.5, 50]", a, b)
		}
	})
	t.Run("lhs", func(t *testing.T) {
		t.Parallel()
		pop, _, _, err := dreamPopulation(popRunner("lhs", false), newRand(1), x0, lo, hi, n)
		if err != nil {
			t.Fatal(err)
		}
		check(t, pop)
		// Each of the n bins of a bounded range holds exactly one chain.
		for _, j := range []int{0, 2} {
			seen := make([]int, n)
			for _, x := range pop {
				seen[min(int(float64(n)*(x[j]-lo[j])/(hi[j]-lo[j])), n-1)]++
			}
			for b, c := range seen {
				if c != 1 {
					t.Fatalf("parameter %d: bin %d holds %d chains", j, b, c)
				}
			}
		}
	})
	t.Run("cov", func(t *testing.T) {
		t.Parallel()
		// Unbounded, so nothing is folded and the sample covariance must
		// match the one given.
		lo, hi := []float64{math.Inf(-1), math.Inf(-1)}, []float64{math.Inf(1), math.Inf(1)}
		cov := [][]float64{{4, -1.8}, {-1.8, 1}}
		const m = 20000
		pop := covPopulation(newRand(2), []float64{1, 2}, lo, hi, m, cov)
		var s [2][2]float64
		for _, x := range pop[1:] {
			d := []float64{x[0] - 1, x[1] - 2}
			for j := range 2 {
				for k := range 2 {
					s[j][k] += d[j] * d[k] / (m - 1)
				}
			}
		}
		// Sampling error of a variance from 2e4 draws is about 1%.
		for j := range 2 {
			for k := range 2 {
				if math.Abs(s[j][k]-cov[j][k]) > 0.05*math.Sqrt(cov[j][j]*cov[k][k]) {
					t.Errorf("sample covariance %v, want %v", s, cov)
				}
			}
		}
		// A covariance the data do not determine falls back to 20% of
		// each range.
		pop = covPopulation(newRand(2), []float64{5}, []float64{0}, []float64{100}, m, [][]float64{{math.Inf(1)}})
		v := 0.0
		for _, x := range pop[1:] {
			v += (x[0] - 5) * (x[0] - 5) / (m - 1)
		}
		if sd := math.Sqrt(v); sd < 10 || sd > 30 {
			t.Errorf("fallback spread %g, want about 20 (folded at 0)", sd)
		}
	})
}
