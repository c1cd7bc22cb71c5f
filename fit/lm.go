package fit

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// lmConfig tunes levmar; the zero value is not useful, see newLMConfig.
type lmConfig struct {
	maxIter  int
	ftol     float64 // relative cost reduction, actual and predicted, to stop at
	xtol     float64 // relative scaled step length to stop at
	geodesic bool    // add the geodesic-acceleration correction to steps

	// For fitLM's checkpoints: resume, if set, is where an earlier run
	// was between two iterations; between is called there each time; stop
	// ends the run (errStopped) with where it is.
	resume  *lmLoop
	between func(lmLoop)
	stop    func() bool
}

func newLMConfig(steps int) lmConfig {
	return lmConfig{maxIter: steps, ftol: 1e-15, xtol: 1e-13, geodesic: true}
}

// lmState is where levmar stopped.
type lmState struct {
	x         []float64
	r         []float64
	cost      float64
	iters     int
	converged bool
	reason    string
}

// levmar minimises |r(x)|^2 with Levenberg–Marquardt inside the bounds.
//
// Each iteration factors the Jacobian, with columns scaled by Marquardt's
// diagonal D (running maxima of the column norms, MINPACK's mode 1), by one
// SVD; every trial damping λ is then solved from that factorisation without
// forming J^T J, which keeps the precision of ill-conditioned problems
// (MGH10, Bennett5) that the normal equations would lose. The damping is
// updated by "delayed gratification" (up by 2 on a rejected step, down by 3
// on an accepted one), which Transtrum and Sethna found to follow the
// curved valleys of MGH10-like problems better than Nielsen's rule; on
// MGH17 and BoxBOD from NIST's first start Nielsen's rule stalls. With geodesic acceleration (Transtrum and
// Sethna 2012) a second-order correction follows the curvature of narrow
// curved valleys. Parameters sitting on a bound with the descent direction
// pointing outwards are frozen for that iteration.
func levmar(ctx context.Context, e *evaluator, x0 []float64, cfg lmConfig, onStep func(step int, cost float64, x []float64)) (*lmState, error) {
	p := e.p
	n, m := p.dim(), p.nres()
	s := e.scratch[0]
	st := &lmState{x: clipBox(append([]float64(nil), x0...), p.lo, p.hi), r: make([]float64, m)}
	diag := make([]float64, n)
	lambda := -1.0
	const maxPolish = 3 // Gauss–Newton steps taken past the cost's resolution
	polished := 0
	if l := cfg.resume; l != nil {
		st.x, st.r, st.cost, st.iters = l.X, l.R, l.Cost, l.Iters
		diag, lambda, polished = l.Diag, l.Lambda, l.Polished
	} else {
		p.residuals(st.x, st.r, s)
		st.cost = sumSq(st.r)
		if math.IsInf(st.cost, 1) {
			return nil, fmt.Errorf("model is not finite at the start point %v", st.x)
		}
	}
	cols := p.newCols()
	xn, rn, jd := make([]float64, n), make([]float64, m), make([]float64, m)
	xv, rv := make([]float64, n), make([]float64, m)
	for st.iters < cfg.maxIter {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if cfg.between != nil {
			cfg.between(lmLoop{X: st.x, R: st.r, Cost: st.cost, Iters: st.iters, Diag: diag, Lambda: lambda, Polished: polished})
		}
		if cfg.stop != nil && cfg.stop() {
			st.reason = "stopped early by request"
			return st, errStopped
		}
		if st.cost == 0 {
			st.converged, st.reason = true, "zero residual"
			return st, nil
		}
		st.iters++
		if err := e.jacobian(ctx, st.x, cols); err != nil {
			return st, err
		}
		active := activeSet(cols, st.r, st.x, p.lo, p.hi)
		for j := range diag {
			diag[j] = max(diag[j], norm(cols[j]))
			if diag[j] == 0 {
				diag[j] = 1
			}
		}
		f, ok := factor(cols, diag, active, st.r)
		if !ok {
			st.reason = "jacobian is not finite"
			return st, nil
		}
		if f.s[0] == 0 {
			// The residuals do not depend on any free parameter here: no
			// step can change the cost, so this is as good as it gets.
			st.converged, st.reason = true, "zero gradient: the model does not depend on its free parameters"
			return st, nil
		}
		if lambda < 0 {
			lambda = 1e-3 * f.s[0] * f.s[0]
		}
		accepted, boundChecked := false, false
		giveUp := math.Inf(1)
		for !accepted {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if lambda == 0 {
				// Repeated division by 3 can underflow; doubling zero
				// would never reach the give-up bound below.
				lambda = 1e-12 * max(1, f.s[0]*f.s[0])
			}
			if lambda > 1e30*max(1, f.s[0]*f.s[0]) || lambda > giveUp {
				// No damping gives a decrease: x is a minimum to the
				// precision the cost can be computed with.
				st.converged, st.reason = true, "no further decrease possible"
				return st, nil
			}
			v := f.solve(f.g, lambda)
			step := v
			if cfg.geodesic {
				// Second directional derivative of r along v by finite
				// differences, then the acceleration from the same solve.
				const h = 0.1
				for j := range xv {
					xv[j] = st.x[j] + h*v[j]
				}
				p.residuals(xv, rv, s)
				mulJ(cols, v, jd)
				for i := range rv {
					rv[i] = 2 / h * ((rv[i]-st.r[i])/h - jd[i])
				}
				a := f.solve(f.project(rv), lambda)
				if 2*f.scaledNorm(a) <= 0.75*f.scaledNorm(v) {
					step = make([]float64, n)
					for j := range step {
						step[j] = v[j] + a[j]/2
					}
				}
			}
			for j := range xn {
				xn[j] = st.x[j] + step[j]
			}
			clipBox(xn, p.lo, p.hi)
			for j := range step {
				step[j] = xn[j] - st.x[j]
			}
			mulJ(cols, step, jd)
			for i := range jd {
				jd[i] += st.r[i]
			}
			pred := st.cost - sumSq(jd)
			p.residuals(xn, rn, s)
			cn := sumSq(rn)
			rho := (st.cost - cn) / pred
			if pred > 0 && rho > 1e-4 {
				accepted = true
				lambda /= 3
				dx := f.scaledNorm(step)
				xnorm := f.scaledNorm(st.x)
				small := (st.cost-cn) <= cfg.ftol*st.cost && pred <= cfg.ftol*st.cost
				copy(st.x, xn)
				copy(st.r, rn)
				st.cost = cn
				if small || dx <= cfg.xtol*(xnorm+cfg.xtol) {
					st.converged, st.reason = true, "relative reduction or step below tolerance"
					if onStep != nil {
						onStep(st.iters, st.cost, st.x)
					}
					return st, nil
				}
			} else {
				if !boundChecked {
					// Before damping harder: could any step gain more than
					// ftol? The undamped (Gauss–Newton) step of the linear
					// model bounds what any damping can predict. If it is
					// below ftol, x is a minimum to the precision the cost
					// resolves; without this test the damping is doubled
					// ~140 times (two evaluations each) to learn it.
					boundChecked = true
					tiny := 1e-24 * f.s[0] * f.s[0]
					if f.predicted(tiny) <= cfg.ftol*st.cost {
						// The Gauss–Newton step still knows more: it comes
						// from the residuals, which resolve the parameters
						// better than their sum of squares does. Take it
						// unless it makes the cost worse beyond rounding.
						gn := f.solve(f.g, tiny)
						for j := range xn {
							xn[j] = st.x[j] + gn[j]
						}
						clipBox(xn, p.lo, p.hi)
						p.residuals(xn, rn, s)
						cn := sumSq(rn)
						if polished >= maxPolish {
							st.converged, st.reason = true, "no further decrease possible"
							return st, nil
						}
						if cn > st.cost*(1+1e-14) {
							// In a curved valley (MGH10, MGH17) the linear
							// model misses what damped steps with geodesic
							// acceleration still gain: try those, but give up
							// after fewer doublings than the bound below.
							giveUp = lambda * 0x1p30
							lambda *= 2
							continue
						}
						// Accepted: go on from there (a few times at most, as
						// the cost cannot tell these steps apart).
						polished++
						copy(st.x, xn)
						copy(st.r, rn)
						st.cost = cn
						accepted = true
						continue
					}
				}
				lambda *= 2
			}
		}
		if onStep != nil {
			onStep(st.iters, st.cost, st.x)
		}
	}
	st.reason = "step limit reached"
	return st, nil
}

// lmFactor is the SVD of the scaled Jacobian restricted to active columns.
type lmFactor struct {
	u, v   *mat.Dense
	s      []float64 // singular values, largest first
	g      []float64 // U^T r
	diag   []float64
	active []int
	n      int
}

func factor(cols [][]float64, diag []float64, active []int, r []float64) (*lmFactor, bool) {
	m, na := len(r), len(active)
	js := mat.NewDense(m, na, nil)
	for c, j := range active {
		for i := range m {
			v := cols[j][i] / diag[j]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, false
			}
			js.Set(i, c, v)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(js, mat.SVDThin) {
		return nil, false
	}
	f := &lmFactor{u: &mat.Dense{}, v: &mat.Dense{}, s: svd.Values(nil), diag: diag, active: active, n: len(cols)}
	svd.UTo(f.u)
	svd.VTo(f.v)
	f.g = f.project(r)
	return f, true
}

// project returns U^T r.
func (f *lmFactor) project(r []float64) []float64 {
	g := make([]float64, len(f.s))
	for k := range g {
		sum := 0.0
		for i, ri := range r {
			sum += f.u.At(i, k) * ri
		}
		g[k] = sum
	}
	return g
}

// solve returns the unscaled step -D^-1 V diag(s/(s^2+λ)) g, which
// minimises |U g + J δ|^2 + λ|D δ|^2 over the active parameters.
func (f *lmFactor) solve(g []float64, lambda float64) []float64 {
	c := make([]float64, len(f.s))
	for k, sk := range f.s {
		if sk > 0 {
			c[k] = sk * g[k] / (sk*sk + lambda)
		}
	}
	step := make([]float64, f.n)
	for a, j := range f.active {
		sum := 0.0
		for k := range c {
			sum += f.v.At(a, k) * c[k]
		}
		step[j] = -sum / f.diag[j]
	}
	return step
}

// predicted is the decrease of the cost the linear model promises for the
// step with damping lambda, |r|^2 - |r + J δ|^2 = Σ g_k² (1 - (λ/(s_k²+λ))²),
// computed from the factors without the cancellation of the difference.
func (f *lmFactor) predicted(lambda float64) float64 {
	sum := 0.0
	for k, sk := range f.s {
		if sk > 0 {
			q := lambda / (sk*sk + lambda)
			sum += f.g[k] * f.g[k] * (1 - q*q)
		}
	}
	return sum
}

// scaledNorm is |D v|.
func (f *lmFactor) scaledNorm(v []float64) float64 {
	s := 0.0
	for j, vj := range v {
		s += (f.diag[j] * vj) * (f.diag[j] * vj)
	}
	return math.Sqrt(s)
}

// activeSet lists the parameters free to move: all but those on a bound
// whose steepest-descent direction points out of the box.
func activeSet(cols [][]float64, r, x, lo, hi []float64) []int {
	var act []int
	for j, c := range cols {
		grad := 0.0
		for i, ci := range c {
			grad += ci * r[i]
		}
		if (x[j] <= lo[j] && grad > 0) || (x[j] >= hi[j] && grad < 0) {
			continue
		}
		act = append(act, j)
	}
	if len(act) == 0 {
		// Every parameter pinned: keep them all so the step is zero after
		// clipping and levmar stops normally.
		for j := range cols {
			act = append(act, j)
		}
	}
	return act
}

// mulJ writes J v into out.
func mulJ(cols [][]float64, v, out []float64) {
	clear(out)
	for j, c := range cols {
		if v[j] == 0 {
			continue
		}
		for i, ci := range c {
			out[i] += ci * v[j]
		}
	}
}

func norm(v []float64) float64 { return math.Sqrt(sumSq(v)) }

// clipBox moves x into [lo, hi] in place and returns it.
func clipBox(x, lo, hi []float64) []float64 {
	for j := range x {
		x[j] = min(max(x[j], lo[j]), hi[j])
	}
	return x
}
