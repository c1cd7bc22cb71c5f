package fit

import (
	"cmp"
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
	total := 0
	onStep := func(step int, cost float64, x []float64) {
		r.progress(total+step, cost, x, "")
	}
	st, err := levmar(r.ctx, r.e, r.e.p.x0(), newLMConfig(steps), onStep)
	if err != nil {
		return nil, err
	}
	total += st.iters
	for range maxLMRestarts {
		if total >= steps {
			break
		}
		next, err := levmar(r.ctx, r.e, st.x, newLMConfig(steps-total), onStep)
		if err != nil {
			return nil, err
		}
		total += next.iters
		improved := next.cost < st.cost*(1-1e-13)
		if next.cost <= st.cost {
			st = next
		}
		if !improved {
			break
		}
	}
	r.logf("lm: %d iterations, cost %.10g (%s)", total, st.cost, st.reason)
	return &outcome{x: st.x, converged: st.converged, steps: total, message: fmt.Sprintf("lm: %s", st.reason)}, nil
}
