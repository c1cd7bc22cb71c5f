package fit

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// fitAmoeba runs Nelder–Mead inside the bounds, restarting from the best
// vertex with a fresh simplex (options.starts times), since a simplex that
// has collapsed along a valley often stops short of the minimum. The fresh
// simplex is sized from the best point's values, like the first one.
func fitAmoeba(r *runner) (*outcome, error) {
	p := r.e.p
	steps := cmp.Or(r.opts.Steps, defaultSteps*max(1, p.dim()))
	starts := cmp.Or(r.opts.Starts, defaultStarts)
	x := clipBox(p.x0(), p.lo, p.hi)
	best := math.Inf(1)
	total, first := 0, 0
	converged, stopped := false, false
	sv := restoreAmoeba(r, p.dim())
	if sv != nil {
		x, best, total, converged, first = sv.X, sv.Best, sv.Total, sv.Converged, sv.Start
	}
	for start := first; start <= starts && total < steps; start++ {
		var loop *amoebaLoop
		if sv != nil && start == sv.Start {
			loop = &sv.Loop
		}
		save := func(l amoebaLoop) any {
			return &amoebaSaved{Start: start, Total: total, X: x, Best: best, Converged: converged, Loop: l, Evals: p.evals.Load()}
		}
		xs, fx, iters, conv, err := nelderMead(r, x, steps-total, total, loop, save)
		if errors.Is(err, errStopped) {
			stopped, err = true, nil
		}
		if err != nil {
			return nil, err
		}
		total += iters
		improved := fx < best*(1-1e-12)
		if fx < best {
			x, best = xs, fx
		}
		converged = conv
		if stopped || !improved && start > 0 {
			break
		}
	}
	r.logf("amoeba: %d iterations, cost %.10g", total, best)
	out := &outcome{x: x, converged: converged, steps: total, message: fmt.Sprintf("amoeba: %d iterations", total)}
	if stopped {
		out.stopped, out.warning = true, fmt.Sprintf("stopped early by request after %d iterations: the best point so far", total)
	}
	return out, nil
}

// nelderMead is one Nelder–Mead run with the adaptive coefficients of Gao
// and Han (2012), which keep the method useful beyond a few dimensions.
//
// Bounds are handled as Bumps' simplex handles them: a trial point outside
// the box costs +Inf, so the step is rejected and the simplex contracts
// towards the inside. Clipping trial points onto the box instead puts
// several vertices on the same face; the simplex then goes flat on the
// bound and can no longer leave it (DanWood from NIST start 1 stalled with
// b2 on its lower bound that way).
func nelderMead(r *runner, x0 []float64, maxIter, stepBase int, resume *amoebaLoop, save func(amoebaLoop) any) ([]float64, float64, int, bool, error) {
	p := r.e.p
	n := p.dim()
	sc := r.e.scratch[0]
	nf := float64(n)
	alpha, beta, gamma, delta := 1.0, 1+2/nf, 0.75-1/(2*nf), 1-1/nf
	pts := make([][]float64, n+1)
	for i := range pts {
		pts[i] = make([]float64, n)
	}
	f := make([]float64, n+1)
	lastBest, lastGain, first := math.Inf(1), 0, 1 // best cost so far, and the iteration that improved it
	if resume != nil {
		pts, f, lastBest, lastGain, first = resume.Pts, resume.F, resume.LastBest, resume.LastGain, resume.It
	} else {
		initialSimplex(pts, x0, initialSteps(x0, p.lo, p.hi))
		if err := r.e.costs(r.ctx, pts, f); err != nil {
			return nil, 0, 0, false, err
		}
	}
	eval := func(x []float64) float64 {
		if !inBox(x, p.lo, p.hi) {
			return math.Inf(1)
		}
		return p.cost(x, sc)
	}
	order := make([]int, n+1)
	cen, xr, xe, xc := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	sortedPts, sortedF := make([][]float64, n+1), make([]float64, n+1) // the next order, swapped in
	for it := first; it <= maxIter; it++ {
		if err := r.ctx.Err(); err != nil {
			return nil, 0, it, false, err
		}
		r.maybeCheckpoint(stepBase+it-1, func() any {
			return save(amoebaLoop{Pts: pts, F: f, LastBest: lastBest, LastGain: lastGain, It: it})
		})
		if r.stopRequested() {
			b := argmin(f)
			return pts[b], f[b], it - 1, false, errStopped
		}
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(f[a], f[b]) })
		for i, o := range order {
			sortedPts[i], sortedF[i] = pts[o], f[o]
		}
		pts, sortedPts = sortedPts, pts
		f, sortedF = sortedF, f
		r.progress(stepBase+it, f[0], pts[0], "")
		// Stop when the simplex is flat in cost and small in size, or
		// flat in cost and no longer improving. Near a minimum the cost
		// varies with the square of the step, so at double precision the
		// cost goes flat while the points still differ by ~1e-8; along a
		// valley of strongly correlated parameters (Misra1b, Lanczos3)
		// they differ by more, and only stagnation says the run is done.
		if f[0] < lastBest*(1-1e-13) {
			lastBest, lastGain = f[0], it
		}
		spread := 0.0
		for i := 1; i <= n; i++ {
			for j := range n {
				spread = max(spread, math.Abs(pts[i][j]-pts[0][j])/max(math.Abs(pts[0][j]), 1e-300))
			}
		}
		flat := f[n]-f[0] <= 1e-12*math.Abs(f[0])+1e-300
		if flat && (spread < 1e-7 && f[n]-f[0] <= 1e-14*math.Abs(f[0])+1e-300 || it-lastGain > 20*(n+1)) {
			return pts[0], f[0], it, true, nil
		}
		clear(cen)
		for i := range n {
			for j := range n {
				cen[j] += pts[i][j] / nf
			}
		}
		worst := pts[n]
		for j := range n {
			xr[j] = cen[j] + alpha*(cen[j]-worst[j])
		}
		fr := eval(xr)
		switch {
		case fr < f[0]:
			for j := range n {
				xe[j] = cen[j] + beta*(xr[j]-cen[j])
			}
			if fe := eval(xe); fe < fr {
				copy(worst, xe)
				f[n] = fe
			} else {
				copy(worst, xr)
				f[n] = fr
			}
		case fr < f[n-1]:
			copy(worst, xr)
			f[n] = fr
		default:
			outside := fr < f[n]
			for j := range n {
				if outside {
					xc[j] = cen[j] + gamma*(xr[j]-cen[j])
				} else {
					xc[j] = cen[j] - gamma*(cen[j]-worst[j])
				}
			}
			fc := eval(xc)
			if (outside && fc <= fr) || (!outside && fc < f[n]) {
				copy(worst, xc)
				f[n] = fc
				continue
			}
			// Shrink towards the best vertex; the new vertices are a batch.
			for i := 1; i <= n; i++ {
				// Vertices inside the box stay inside: the box is convex.
				for j := range n {
					pts[i][j] = pts[0][j] + delta*(pts[i][j]-pts[0][j])
				}
			}
			if err := r.e.costs(r.ctx, pts[1:], f[1:]); err != nil {
				return nil, 0, it, false, err
			}
		}
	}
	best := 0
	for i := range f {
		if f[i] < f[best] {
			best = i
		}
	}
	return pts[best], f[best], maxIter, false, nil
}

func inBox(x, lo, hi []float64) bool {
	for j, v := range x {
		if !(v >= lo[j] && v <= hi[j]) {
			return false
		}
	}
	return true
}

// initialSteps are the edges of the first simplex: 10% of each start value
// (as Bumps and SciPy do for unbounded parameters), not 10% of the bounded
// range. A range spanning decades would make the first steps far larger
// than the start value itself and throw the simplex against a bound.
func initialSteps(x0, lo, hi []float64) []float64 {
	h := make([]float64, len(x0))
	for j, x := range x0 {
		step := 0.1 * math.Abs(x)
		if step == 0 {
			step = 0.00025
			if w := hi[j] - lo[j]; isFinite(w) {
				step = 0.1 * w
			}
		}
		h[j] = stepInside(x, step, lo[j], hi[j])
	}
	return h
}

// stepInside returns a signed step of size h from x that stays in [lo, hi]:
// upwards if there is room, else downwards, else half the larger room, so
// that no new vertex lands on a bound: a simplex with vertices on a face
// starts out thin there. It is 0 only when lo == hi.
func stepInside(x, h, lo, hi float64) float64 {
	up, down := hi-x, x-lo
	switch {
	case h < up:
		return h
	case h < down:
		return -h
	case up >= down:
		return up / 2
	default:
		return -down / 2
	}
}

// initialSimplex fills pts with x0 and x0 + h[j] e_j.
func initialSimplex(pts [][]float64, x0, h []float64) {
	for i := range pts {
		copy(pts[i], x0)
		if i > 0 {
			pts[i][i-1] += h[i-1]
		}
	}
}
