package fit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// posteriorProblem is a fit whose posterior the test knows exactly:
// by quadrature on a grid (a few parameters) or in closed form.
type posteriorProblem struct {
	name   string
	model  string
	x, y   []float64
	dy     float64
	params []string
	start  []float64
	lo, hi []float64
	model1 func(theta []float64, x float64) float64 // the model, in Go
	grid   []axis                                   // nil: exact gives the marginals
	exact  func(t testing.TB) []*marginal
	// bimodal in the first parameter, symmetric about zero: the median
	// sits where there is no mass, so the weight of each mode is checked
	// instead.
	bimodal bool
	// hard marks grid faces that lie on a parameter's bound, where the
	// posterior is cut off rather than negligible: [k][0] low, [k][1] high.
	hard [][2]bool
	// Richer specs: sets replaces the one dataset built from model, x, y
	// and dy; extra adds keys (fixed, prior) to a parameter's entry, or
	// whole entries for fixed parameters not in params; noDY leaves dy
	// out of the single dataset (unit weights).
	sets  []any
	extra map[string]map[string]any
	noDY  bool
	opts  map[string]any // more options
}

func (pp *posteriorProblem) spec(samples int, seed int64) string {
	params := map[string]any{}
	for k, name := range pp.params {
		par := map[string]any{"value": pp.start[k]}
		if !math.IsInf(pp.lo[k], 0) {
			par["min"] = pp.lo[k]
		}
		if !math.IsInf(pp.hi[k], 0) {
			par["max"] = pp.hi[k]
		}
		params[name] = par
	}
	for name, kv := range pp.extra {
		par, ok := params[name].(map[string]any)
		if !ok {
			par = map[string]any{}
			params[name] = par
		}
		for k, v := range kv {
			par[k] = v
		}
	}
	sets := pp.sets
	if sets == nil {
		set := map[string]any{"model": pp.model, "x": pp.x, "y": pp.y}
		if !pp.noDY {
			dy := make([]float64, len(pp.x))
			for i := range dy {
				dy[i] = pp.dy
			}
			set["dy"] = dy
		}
		sets = []any{set}
	}
	opts := map[string]any{"seed": seed, "samples": samples}
	for k, v := range pp.opts {
		opts[k] = v
	}
	js, _ := json.Marshal(map[string]any{
		"fitter":     "dream",
		"options":    opts,
		"parameters": params,
		"datasets":   sets,
	})
	return string(js)
}

// logPosterior is -chisq/2 inside the bounds, computed here independently
// of the engine.
func (pp *posteriorProblem) logPosterior(theta []float64) float64 {
	for k, v := range theta {
		if v < pp.lo[k] || v > pp.hi[k] {
			return math.Inf(-1)
		}
	}
	chisq := 0.0
	for i, x := range pp.x {
		r := (pp.model1(theta, x) - pp.y[i]) / pp.dy
		chisq += r * r
	}
	return -chisq / 2
}

func (pp *posteriorProblem) marginals(t testing.TB) []*marginal {
	if pp.exact != nil {
		return pp.exact(t)
	}
	return gridMarginalsCut(t, pp.grid, pp.hard, pp.logPosterior)
}

// synthetic returns n points of f on [a, b] with Gaussian noise of sd dy.
func synthetic(seed uint64, n int, a, b, dy float64, f func(x float64) float64) (xs, ys []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		x := a + (b-a)*float64(i)/float64(n-1)
		xs = append(xs, x)
		ys = append(ys, f(x)+dy*rng.NormFloat64())
	}
	return xs, ys
}

func misra1aPosterior(t testing.TB) *posteriorProblem {
	p := loadNIST(t, "Misra1a")
	return &posteriorProblem{
		name: "Misra1a", model: "b1*(1-exp(-b2*x))", x: p.cols[1], y: p.cols[0], dy: 0.1,
		params: []string{"b1", "b2"}, start: p.start1,
		lo: []float64{0, 0}, hi: []float64{1000, 0.01},
		model1: func(th []float64, x float64) float64 { return th[0] * (1 - math.Exp(-th[1]*x)) },
		grid:   []axis{{215, 270, 700}, {4.95e-4, 6.05e-4, 700}},
	}
}

func gaussPeakPosterior() *posteriorProblem {
	f := func(th []float64, x float64) float64 {
		z := (x - th[1]) / th[2]
		return th[0] * math.Exp(-z*z/2)
	}
	xs, ys := synthetic(11, 31, -4, 4, 0.5, func(x float64) float64 { return f([]float64{3, 0.4, 0.9}, x) })
	return &posteriorProblem{
		name: "GaussPeak", model: "h*exp(-((x-c)/w)^2/2)", x: xs, y: ys, dy: 0.5,
		params: []string{"h", "c", "w"}, start: []float64{1, 0, 1},
		lo: []float64{0, -4, 0.05}, hi: []float64{20, 4, 4},
		model1: f,
		grid:   []axis{{1.05, 5.3, 120}, {-0.45, 1.05, 120}, {0.35, 1.9, 120}},
	}
}

func expDecayPosterior() *posteriorProblem {
	f := func(th []float64, x float64) float64 { return th[0]*math.Exp(-x/th[1]) + th[2] }
	xs, ys := synthetic(12, 30, 0, 10, 0.3, func(x float64) float64 { return f([]float64{5, 2, 1}, x) })
	return &posteriorProblem{
		name: "ExpDecay", model: "A*exp(-x/tau)+B", x: xs, y: ys, dy: 0.3,
		params: []string{"A", "tau", "B"}, start: []float64{1, 1, 0},
		lo: []float64{0, 0.1, -5}, hi: []float64{20, 10, 5},
		model1: f,
		grid:   []axis{{3.1, 6.7, 120}, {0.9, 5.6, 130}, {-0.25, 1.85, 120}},
	}
}

func sinPosterior() *posteriorProblem {
	f := func(th []float64, x float64) float64 { return th[0] * math.Sin(th[1]*x) }
	xs, ys := synthetic(13, 25, 0, 3, 0.4, func(x float64) float64 { return f([]float64{1.5, 1.2}, x) })
	return &posteriorProblem{
		name: "SinBimodal", model: "a*sin(b*x)", x: xs, y: ys, dy: 0.4,
		params: []string{"a", "b"}, start: []float64{1, 1},
		lo: []float64{-3, -3}, hi: []float64{3, 3},
		model1:  f,
		grid:    []axis{{-3, 3, 1200}, {-3, 3, 1200}},
		bimodal: true,
	}
}

func TestPosteriorAgainstExact(t *testing.T) {
	t.Parallel()
	runPosteriorSuite(t, []*posteriorProblem{misra1aPosterior(t), gaussPeakPosterior(), expDecayPosterior(), sinPosterior(), linearPosterior()})
}

// runPosteriorSuite checks every problem at the default budget (must
// converge, ESS ≥ 400) and at a small one (ESS ≥ 50).
func runPosteriorSuite(t *testing.T, problems []*posteriorProblem) {
	for _, pp := range problems {
		t.Run(pp.name, func(t *testing.T) {
			t.Parallel()
			exact := pp.marginals(t)
			for _, b := range []struct {
				name    string
				samples int
				minESS  float64
				conv    bool
			}{{"default", 0, minConvergedESS, true}, {"small", 2000, 50, false}} {
				t.Run(b.name, func(t *testing.T) {
					checkPosterior(t, pp, exact, b.samples, b.minESS, b.conv)
				})
			}
		})
	}
}

// runJSON parses and runs a spec, logging the fitter's message.
func runJSON(t testing.TB, js string, cpus int) *Result {
	t.Helper()
	spec, err := ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), spec, Options{CPUs: cpus})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Message)
	return res
}

// checkPosterior returns the result it checked.
func checkPosterior(t *testing.T, pp *posteriorProblem, exact []*marginal, samples int, minESS float64, mustConverge bool) *Result {
	res := runJSON(t, pp.spec(samples, 5), 1)
	if mustConverge && !res.Converged {
		t.Errorf("not converged: %s", res.Warning)
	}
	if res.Converged == (res.Warning != "") {
		t.Errorf("converged %t but warning %q", res.Converged, res.Warning)
	}
	var table strings.Builder
	for k, name := range pp.params {
		pr := res.Parameters[name]
		if pr.ESS == nil || pr.Rhat == nil || pr.P95 == nil {
			t.Fatalf("%s: statistics missing: %+v", name, pr)
		}
		if ess := float64(*pr.ESS); ess < minESS {
			t.Errorf("%s: ESS %.0f, want at least %.0f", name, ess, minESS)
		}
		fmt.Fprintf(&table, "\n  %-4s rhat %.4f ess %6.0f:", name, float64(*pr.Rhat), float64(*pr.ESS))
		for _, s := range posteriorStats(pr, exact[k]) {
			if math.IsInf(s.tol, 0) || math.IsNaN(s.tol) {
				continue // no mass at the quantile (between modes)
			}
			fmt.Fprintf(&table, " %s %.5g (exact %.5g ±%.2g)", s.name, s.got, s.exact, s.tol)
			if math.Abs(s.got-s.exact) > s.tol {
				t.Errorf("%s %s: %.6g, exact %.6g, tolerance %.3g (ESS %.0f)", name, s.name, s.got, s.exact, s.tol, float64(*pr.ESS))
			}
		}
	}
	if pp.bimodal {
		checkModeWeight(t, res, pp.params[0])
	}
	t.Log(table.String())
	return res
}

// checkModeWeight: a symmetric posterior puts half its draws on each
// side of zero; the bulk ESS of the parameter counts how often the chains
// switched sides, so it gives the binomial standard error.
func checkModeWeight(t *testing.T, res *Result, name string) {
	pos := 0
	j := 0
	for k, n := range res.fit.p.names {
		if n == name {
			j = k
		}
	}
	for _, d := range res.fit.samples {
		if d[j] > 0 {
			pos++
		}
	}
	frac := float64(pos) / float64(len(res.fit.samples))
	ess := float64(*res.Parameters[name].ESS)
	tol := mcSigmas * math.Sqrt(0.25/ess)
	t.Logf("%s > 0 in %.3f of the draws (exact 0.5 ± %.3f)", name, frac, tol)
	if math.Abs(frac-0.5) > tol {
		t.Errorf("%s: %.3f of the draws in the positive mode, want 0.5 ± %.3f", name, frac, tol)
	}
}

// linearPosterior is a polynomial of degree 9 in x on [-1, 1]: with flat
// priors its posterior is exactly Gaussian with mean (XᵀX)⁻¹Xᵀy and
// covariance (XᵀX)⁻¹ dy², X the design matrix of the weighted data. The
// monomials are strongly correlated there, which DREAM must cope with.
func linearPosterior() *posteriorProblem {
	truth := []float64{0.3, -1, 0.5, 2, -0.7, -1.5, 0.4, 0.8, -0.2, -0.3}
	return polyPosterior("Linear10", truth, -1, 1, 60, 0.05, 14)
}

// polyPosterior is the polynomial Σ c_k x^k with coefficients near truth,
// fitted to n points on [a, b] with noise dy and flat priors.
func polyPosterior(name string, truth []float64, a, b float64, n int, dy float64, seed uint64) *posteriorProblem {
	d := len(truth)
	f := func(th []float64, x float64) float64 {
		s, xp := 0.0, 1.0
		for _, c := range th {
			s += c * xp
			xp *= x
		}
		return s
	}
	xs, ys := synthetic(seed, n, a, b, dy, func(x float64) float64 { return f(truth, x) })
	pp := &posteriorProblem{name: name, x: xs, y: ys, dy: dy, model1: f}
	terms := make([]string, d)
	for k := range d {
		name := fmt.Sprintf("c%d", k)
		pp.params = append(pp.params, name)
		pp.start = append(pp.start, 0)
		pp.lo, pp.hi = append(pp.lo, math.Inf(-1)), append(pp.hi, math.Inf(1))
		terms[k] = name
		if k > 0 {
			terms[k] += fmt.Sprintf("*x^%d", k)
		}
	}
	pp.model = strings.Join(terms, " + ")
	pp.exact = func(t testing.TB) []*marginal {
		mean, cov := linearLeastSquares(t, xs, ys, d)
		ms := make([]*marginal, d)
		for k := range d {
			sd := math.Sqrt(cov[k][k]) * dy
			ms[k] = gaussianMarginal(mean[k], sd)
		}
		return ms
	}
	return pp
}

// linearLeastSquares solves the unweighted polynomial least squares,
// returning the solution and (XᵀX)⁻¹.
func linearLeastSquares(t testing.TB, xs, ys []float64, d int) ([]float64, [][]float64) {
	rows := make([][]float64, len(xs))
	w := make([]float64, len(xs))
	for i, x := range xs {
		rows[i] = make([]float64, d)
		xp := 1.0
		for k := range d {
			rows[i][k] = xp
			xp *= x
		}
		w[i] = 1
	}
	return weightedLeastSquares(t, rows, ys, w)
}

// weightedLeastSquares solves min Σ w_i²(rows_i·θ - y_i)² by the normal
// equations, Gauss–Jordan with partial pivoting, returning θ and
// (XᵀW²X)⁻¹: the exact posterior mean and covariance of a linear model
// with Gaussian errors 1/w and flat priors (a Gaussian prior is one more
// row).
func weightedLeastSquares(t testing.TB, rows [][]float64, ys, w []float64) ([]float64, [][]float64) {
	d := len(rows[0])
	a := make([][]float64, d)
	for j := range a {
		a[j] = make([]float64, 2*d+1)
		a[j][d+j] = 1
	}
	for i, row := range rows {
		w2 := w[i] * w[i]
		for j := range d {
			for k := range d {
				a[j][k] += w2 * row[j] * row[k]
			}
			a[j][2*d] += w2 * row[j] * ys[i]
		}
	}
	for c := range d {
		p := c
		for r := c + 1; r < d; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		if a[c][c] == 0 {
			t.Fatal("singular design")
		}
		piv := a[c][c]
		for k := range a[c] {
			a[c][k] /= piv
		}
		for r := range d {
			if r != c {
				f := a[r][c]
				for k := range a[r] {
					a[r][k] -= f * a[c][k]
				}
			}
		}
	}
	mean := make([]float64, d)
	cov := make([][]float64, d)
	for j := range d {
		mean[j] = a[j][2*d]
		cov[j] = a[j][d : 2*d]
	}
	return mean, cov
}

// gaussianMarginal tabulates N(mu, sd²) on a fine grid of ±10 sd.
func gaussianMarginal(mu, sd float64) *marginal {
	ax := axis{mu - 10*sd, mu + 10*sd, 4000}
	m := &marginal{ax: ax, mass: make([]float64, ax.n), mean: mu, std: sd, kurt: 3}
	for i := range m.mass {
		a, b := ax.lo+float64(i)*ax.step(), ax.lo+float64(i+1)*ax.step()
		m.mass[i] = (math.Erf((b-mu)/(sd*math.Sqrt2)) - math.Erf((a-mu)/(sd*math.Sqrt2))) / 2
	}
	return m
}

// The case: Misra1a from NIST's first start with 300,000 samples
// and seed 7, where the old sampler reported b1's 95% interval as
// [234.1, 689.4] and std 112. b1's 95% interval ends must be within ±1 of
// the exact ones and its std within 10%.
func TestDREAMMisra1a300k(t *testing.T) {
	t.Parallel()
	pp := misra1aPosterior(t)
	exact := pp.marginals(t)
	res := runJSON(t, pp.spec(300000, 7), 2)
	b1, m := res.Parameters["b1"], exact[0]
	lo, hi := m.quantile(0.025), m.quantile(0.975)
	t.Logf("b1 p95 [%.2f, %.2f] (exact [%.2f, %.2f]), std %.3f (exact %.3f), R-hat %.4f, ESS %.0f",
		b1.P95[0], b1.P95[1], lo, hi, *b1.Std, m.std, float64(*b1.Rhat), float64(*b1.ESS))
	if math.Abs(b1.P95[0]-lo) > 1 || math.Abs(b1.P95[1]-hi) > 1 {
		t.Errorf("b1 p95 %v, exact [%.3f, %.3f]", *b1.P95, lo, hi)
	}
	if r := *b1.Std / m.std; r < 0.9 || r > 1.1 {
		t.Errorf("b1 std %.3f is %.2f times the exact %.3f", *b1.Std, r, m.std)
	}
	if !res.Converged {
		t.Errorf("not converged: %s", res.Warning)
	}
}
