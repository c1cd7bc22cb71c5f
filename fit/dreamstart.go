package fit

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

const (
	// dreamLMSteps bounds each Levenberg–Marquardt run that looks for modes.
	dreamLMSteps = 500
	// dreamExtraStarts is how many Latin-hypercube starts over a bounded
	// box LM runs from besides the spec's start; more than the problem
	// has parameters, so separate modes are likely to be found.
	dreamExtraStarts = 12
	// dreamModeSep is the Mahalanobis distance under which two optima are
	// one mode.
	dreamModeSep = 5.0
	// dreamMinModeWeight drops modes with less posterior mass than this
	// relative to the largest.
	dreamMinModeWeight = 1e-3
	// dreamOverdisperse widens the starting chains' Gaussian, so that
	// their agreement later says something (Gelman and Rubin 1992).
	dreamOverdisperse = 1.5
)

// laplaceMode is a Gaussian approximation of the posterior at one
// least-squares optimum: mean X, covariance L Lᵀ = (JᵀJ)⁻¹, and LogW the
// log of its mass exp(-cost/2)·sqrt(det cov). Plain fields, so that a
// checkpoint of the sampler can hold it.
type laplaceMode struct {
	X    []float64
	Cost float64
	L    [][]float64 // lower-triangular Cholesky factor of the covariance
	LogW float64
}

type modeMixture []*laplaceMode

// laplaceModes runs Levenberg–Marquardt from the spec's start and, when
// every free parameter is bounded, from a Latin hypercube of starts over
// the box; it returns the distinct optima whose Laplace mass is not
// negligible. A posterior with several modes of similar mass (a symmetric
// model, say) then starts with chains in each, in proportion to mass, and
// DREAM(ZS)'s jumps between archived states keep the proportions right.
// Optima whose covariance is undefined (a parameter the data do not
// determine there) are skipped; none left means nil.
func laplaceModes(r *runner, rng *rand.Rand, x0 []float64) (modeMixture, error) {
	p := r.e.p
	starts := [][]float64{x0}
	bounded := true
	for j := range p.lo {
		bounded = bounded && isFinite(p.lo[j]) && isFinite(p.hi[j])
	}
	if bounded {
		starts = append(starts, lhsPopulation(rng, x0, p.lo, p.hi, dreamExtraStarts+1)[1:]...)
	}
	var found modeMixture
	for _, s := range starts {
		st, err := levmar(r.ctx, r.e, s, newLMConfig(dreamLMSteps), nil)
		if err != nil {
			if r.ctx.Err() != nil {
				return nil, r.ctx.Err()
			}
			continue // the model is not finite at this start
		}
		cov, err := r.e.covarianceAt(r.ctx, st.x)
		if err != nil {
			return nil, err
		}
		if m := newLaplaceMode(st.x, st.cost, cov); m != nil {
			found = append(found, m)
		}
	}
	sort.SliceStable(found, func(a, b int) bool { return found[a].Cost < found[b].Cost })
	var modes modeMixture
	for _, m := range found {
		if !modes.has(m.X) {
			modes = append(modes, m)
		}
	}
	if len(modes) == 0 {
		return nil, nil
	}
	w := modes.weights()
	top := slices.Max(w)
	var kept modeMixture
	for i, m := range modes {
		if w[i] >= dreamMinModeWeight*top {
			kept = append(kept, m)
		}
	}
	for i, m := range kept {
		r.logf("dream: start mode at %v, chisq %.8g, weight %.3g", m.X, m.Cost, kept.weights()[i])
	}
	return kept, nil
}

func newLaplaceMode(x []float64, cost float64, cov [][]float64) *laplaceMode {
	d := len(x)
	sym := mat.NewSymDense(d, nil)
	for j := range d {
		for k := j; k < d; k++ {
			if !isFinite(cov[j][k]) {
				return nil
			}
			sym.SetSym(j, k, cov[j][k])
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(sym) {
		return nil
	}
	var l mat.TriDense
	chol.LTo(&l)
	m := &laplaceMode{X: x, Cost: cost, L: make([][]float64, d), LogW: -cost/2 + chol.LogDet()/2}
	for j := range d {
		m.L[j] = make([]float64, j+1)
		for k := 0; k <= j; k++ {
			m.L[j][k] = l.At(j, k)
		}
	}
	return m
}

// mahalanobis2 is the squared distance of x from the mode's centre in
// units of its covariance: |L⁻¹(x - X)|², by forward substitution.
func (m *laplaceMode) mahalanobis2(x []float64) float64 {
	z := make([]float64, len(x))
	s := 0.0
	for j := range x {
		v := x[j] - m.X[j]
		for k := range j {
			v -= m.L[j][k] * z[k]
		}
		z[j] = v / m.L[j][j]
		s += z[j] * z[j]
	}
	return s
}

// logDetL is log det L, half the log determinant of the covariance.
func (m *laplaceMode) logDetL() float64 {
	s := 0.0
	for j := range m.L {
		s += math.Log(m.L[j][j])
	}
	return s
}

// has reports whether x lies within dreamModeSep of a mode's centre, in
// that mode's metric.
func (ms modeMixture) has(x []float64) bool {
	for _, m := range ms {
		if m.mahalanobis2(x) < dreamModeSep*dreamModeSep {
			return true
		}
	}
	return false
}

// weights are the modes' masses, normalized to sum to one.
func (ms modeMixture) weights() []float64 {
	top := math.Inf(-1)
	for _, m := range ms {
		top = max(top, m.LogW)
	}
	w, total := make([]float64, len(ms)), 0.0
	for i, m := range ms {
		w[i] = math.Exp(m.LogW - top)
		total += w[i]
	}
	for i := range w {
		w[i] /= total
	}
	return w
}

// draw places n points on the modes in proportion to their mass (largest
// remainder), each from its Gaussian folded into the box. With centres,
// the first point of each mode is its optimum and the Gaussian is widened
// by dreamOverdisperse, as for starting chains.
func (ms modeMixture) draw(rng *rand.Rand, lo, hi []float64, n int, centres bool) [][]float64 {
	w := ms.weights()
	counts, given := make([]int, len(ms)), 0
	rem := make([]float64, len(ms))
	for i := range ms {
		share := float64(n) * w[i]
		counts[i] = int(share)
		rem[i] = share - float64(counts[i])
		given += counts[i]
	}
	order := make([]int, len(ms))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for k := 0; given < n; k++ {
		counts[order[k%len(order)]]++
		given++
	}
	scale := 1.0
	if centres {
		scale = dreamOverdisperse
	}
	var pts [][]float64
	for i, m := range ms {
		z := make([]float64, len(m.X))
		for c := range counts[i] {
			x := append([]float64(nil), m.X...)
			if !centres || c > 0 {
				for j := range z {
					z[j] = rng.NormFloat64()
				}
				m.add(x, z, scale)
				foldInto(x, lo, hi)
			}
			pts = append(pts, x)
		}
	}
	return pts
}

// add adds scale·L z to x.
func (m *laplaceMode) add(x, z []float64, scale float64) {
	for j := range x {
		for k := 0; k <= j; k++ {
			x[j] += scale * m.L[j][k] * z[k]
		}
	}
}
