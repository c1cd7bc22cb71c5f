package fit

import (
	"cmp"
	"errors"
	"fmt"
)

// maxLMRestarts bounds how often fitLM restarts Levenberg–Marquardt from
// its own best point.
const maxLMRestarts = 5

// fitLM runs Levenberg–Marquardt and then restarts it from the best point
// while that still lowers the cost. A restart resets the damping and the
// Marquardt scaling, which MINPACK-style runs can accumulate from far-away
// start points and which then slow or stall the final approach.
func fitLM(r *runner) (*outcome, error) {
	steps := cmp.Or(r.opts.Steps, defaultLMSteps)
	total, run := 0, 0
	var best *lmState
	var loop *lmLoop
	if sv := restoreLM(r); sv != nil {
		total, run, best, loop = sv.Total, sv.Run, sv.Best.state(), &sv.Loop
	}
	onStep := func(step int, cost float64, x []float64) {
		r.progress(total+step, cost, x, "")
	}
	stopped := false
	for ; run <= maxLMRestarts; run++ {
		if run > 0 && total >= steps {
			break
		}
		x0 := r.e.p.x0()
		if best != nil {
			x0 = best.x
		}
		cfg := newLMConfig(steps - total)
		cfg.resume, loop = loop, nil
		cfg.stop = r.stopRequested
		cfg.between = func(l lmLoop) {
			r.maybeCheckpoint(total+l.Iters, func() any {
				return &lmSaved{Run: run, Total: total, Best: best.saved(), Loop: l, Evals: r.e.p.evals.Load()}
			})
		}
		next, err := levmar(r.ctx, r.e, x0, cfg, onStep)
		stopped = errors.Is(err, errStopped)
		if err != nil && !stopped {
			return nil, err
		}
		total += next.iters
		if best == nil {
			best = next
		} else {
			// A restart resets the damping and the Marquardt scaling.
			improved := next.cost < best.cost*(1-1e-13)
			if next.cost <= best.cost {
				best = next
			}
			if !improved {
				break
			}
		}
		if stopped {
			break
		}
	}
	r.logf("lm: %d iterations, cost %.10g (%s)", total, best.cost, best.reason)
	out := &outcome{x: best.x, converged: best.converged && !stopped, steps: total, message: fmt.Sprintf("lm: %s", best.reason)}
	if stopped {
		out.stopped, out.warning = true, fmt.Sprintf("stopped early by request after %d iterations: the best point so far", total)
	}
	return out, nil
}
