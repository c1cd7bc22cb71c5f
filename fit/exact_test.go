package fit

import (
	"math"
	"testing"
)

// axis is one parameter's grid: n cells of equal width over [lo, hi].
type axis struct {
	lo, hi float64
	n      int
}

func (a axis) step() float64      { return (a.hi - a.lo) / float64(a.n) }
func (a axis) at(i int) float64   { return a.lo + (float64(i)+0.5)*a.step() }
func (a axis) cell(v float64) int { return min(max(int((v-a.lo)/a.step()), 0), a.n-1) }

// marginal is the exact posterior of one parameter, integrated on a grid.
type marginal struct {
	ax   axis
	mass []float64 // probability of each cell
	mean float64
	std  float64
	kurt float64 // fourth standardized moment
}

// quantile inverts the marginal's CDF, taking the density as constant
// within each cell.
func (m *marginal) quantile(p float64) float64 {
	cum := 0.0
	for i, w := range m.mass {
		if cum+w >= p && w > 0 {
			return m.ax.lo + (float64(i)+(p-cum)/w)*m.ax.step()
		}
		cum += w
	}
	return m.ax.hi
}

// density is the marginal density at v.
func (m *marginal) density(v float64) float64 { return m.mass[m.ax.cell(v)] / m.ax.step() }

// gridMarginals integrates exp(logp) over the grid of the axes (midpoint
// rule) and returns every parameter's marginal. It fails the test when
// the density on the grid's faces is not negligible (the grid would cut
// off mass), or when the peak is resolved by too few cells.
func gridMarginals(t testing.TB, axes []axis, logp func(theta []float64) float64) []*marginal {
	t.Helper()
	return gridMarginalsCut(t, axes, nil, logp)
}

// gridMarginalsCut is gridMarginals where the faces marked in hard lie on
// a parameter's bound: the posterior is cut off there, so they are not
// checked.
func gridMarginalsCut(t testing.TB, axes []axis, hard [][2]bool, logp func(theta []float64) float64) []*marginal {
	t.Helper()
	d := len(axes)
	total := 1
	for _, a := range axes {
		total *= a.n
	}
	lp := make([]float64, total)
	theta := make([]float64, d)
	idx := make([]int, d)
	top := math.Inf(-1)
	for k := range total {
		rest := k
		for j := d - 1; j >= 0; j-- {
			idx[j] = rest % axes[j].n
			rest /= axes[j].n
			theta[j] = axes[j].at(idx[j])
		}
		lp[k] = logp(theta)
		top = max(top, lp[k])
	}
	ms := make([]*marginal, d)
	for j, a := range axes {
		ms[j] = &marginal{ax: a, mass: make([]float64, a.n)}
	}
	edge, sum := make([][2]float64, d), 0.0
	for j := range edge {
		edge[j] = [2]float64{math.Inf(-1), math.Inf(-1)}
	}
	for k := range total {
		rest := k
		w := math.Exp(lp[k] - top)
		sum += w
		for j := d - 1; j >= 0; j-- {
			idx[j] = rest % axes[j].n
			rest /= axes[j].n
			ms[j].mass[idx[j]] += w
			if idx[j] == 0 {
				edge[j][0] = max(edge[j][0], lp[k]-top)
			}
			if idx[j] == axes[j].n-1 {
				edge[j][1] = max(edge[j][1], lp[k]-top)
			}
		}
	}
	for j, e := range edge {
		if j < len(hard) {
			for side := range 2 {
				if hard[j][side] {
					e[side] = math.Inf(-1)
				}
			}
		}
		if max(e[0], e[1]) > -25 {
			t.Fatalf("grid too small: log density on the faces of axis %d reaches %.1f, %.1f below the peak", j, -e[0], -e[1])
		}
	}
	for _, m := range ms {
		peak := 0.0
		for i := range m.mass {
			m.mass[i] /= sum
			peak = max(peak, m.mass[i])
		}
		if peak > 0.1 {
			t.Fatalf("grid too coarse: one cell holds %.2f of a marginal", peak)
		}
		for i, w := range m.mass {
			m.mean += w * m.ax.at(i)
		}
		v, m4 := m.ax.step()*m.ax.step()/12, 0.0 // the cell's own spread
		for i, w := range m.mass {
			dv := m.ax.at(i) - m.mean
			v += w * dv * dv
			m4 += w * dv * dv * dv * dv
		}
		m.std, m.kurt = math.Sqrt(v), m4/(v*v)
	}
	return ms
}

// posteriorCheck compares DREAM's statistics of one parameter with the
// exact ones within Monte Carlo error.
//
// With n effective draws a sample quantile at probability p has standard
// error sqrt(p(1-p))/(f(q)·sqrt(n)), f the density at the quantile, and a
// sample standard deviation has standard error σ·sqrt((κ-1)/(4n)), κ the
// kurtosis (1/sqrt(2n) of σ for a Gaussian). n is the engine's own bulk
// ESS of the parameter, which the test also bounds from below so that a
// sampler cannot pass by reporting a tiny ESS. Each comparison allows
// mcSigmas standard errors plus one grid cell: with the ~150 comparisons
// of the suite and deterministic seeds a correct sampler fails none, and
// a sampler that is off by more than that is wrong.
const mcSigmas = 5

type posteriorStat struct {
	name       string
	got, exact float64
	tol        float64
}

func posteriorStats(pr ParamResult, m *marginal) []posteriorStat {
	ess := float64(*pr.ESS)
	h := m.ax.step()
	qse := func(p float64) float64 {
		f := m.density(m.quantile(p))
		return math.Sqrt(p*(1-p)) / (f * math.Sqrt(ess))
	}
	q := func(name string, got, p float64) posteriorStat {
		return posteriorStat{name, got, m.quantile(p), mcSigmas*qse(p) + h}
	}
	const p68lo, p68hi = 0.15865525393145707, 0.8413447460685429
	return []posteriorStat{
		q("median", *pr.Median, 0.5),
		q("p68 low", pr.P68[0], p68lo),
		q("p68 high", pr.P68[1], p68hi),
		q("p95 low", pr.P95[0], 0.025),
		q("p95 high", pr.P95[1], 0.975),
		{"std", *pr.Std, m.std, mcSigmas*m.std*math.Sqrt((m.kurt-1)/(4*ess)) + h},
	}
}
