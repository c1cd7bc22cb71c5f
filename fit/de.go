package fit

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
)

// fitDE runs differential evolution (Storn and Price 1997) with the
// rand-to-best/1/bin strategy and dithered F. Trial vectors of a whole
// generation are drawn first and then evaluated as one mapper batch.
func fitDE(r *runner) (*outcome, error) {
	p := r.e.p
	n := p.dim()
	gens := cmp.Or(r.opts.Steps, defaultDESteps)
	np := max(cmp.Or(r.opts.Pop, defaultPop)*n, 5)
	st := restoreDE(r, np, n)
	if st == nil {
		st = &deState{src: newPCG(r.opts.Seed)}
		rng := rand.New(st.src)
		st.Pop = initialPopulation(rng, clipBox(p.x0(), p.lo, p.hi), p.lo, p.hi, np)
		st.Cost = make([]float64, np)
		if err := r.e.costs(r.ctx, st.Pop, st.Cost); err != nil {
			return nil, err
		}
	}
	rng := rand.New(st.src)
	pop, cost := st.Pop, st.Cost
	trial := make([][]float64, np)
	for i := range trial {
		trial[i] = make([]float64, n)
	}
	tcost := make([]float64, np)
	best := argmin(cost)
	converged, stopped := false, false
	g := st.Gen
	for g = st.Gen + 1; g <= gens; g++ {
		if stopped = r.stopRequested(); stopped {
			g--
			break
		}
		const cr = 0.9
		for i := range np {
			a, b := distinct2(rng, np, i)
			f := 0.5 + 0.5*rng.Float64()
			jr := rng.IntN(n)
			for j := range n {
				t := pop[i][j]
				if j == jr || rng.Float64() < cr {
					t = pop[i][j] + f*(pop[best][j]-pop[i][j]) + f*(pop[a][j]-pop[b][j])
				}
				trial[i][j] = t
			}
			foldInto(trial[i], p.lo, p.hi)
		}
		if err := r.e.costs(r.ctx, trial, tcost); err != nil {
			return nil, err
		}
		for i := range np {
			if tcost[i] <= cost[i] {
				pop[i], trial[i] = trial[i], pop[i]
				cost[i] = tcost[i]
			}
		}
		best = argmin(cost)
		r.progress(g, cost[best], pop[best], "")
		if converged = populationConverged(pop, cost, best); converged {
			break
		}
		st.Gen = g
		r.maybeCheckpoint(g, func() any { return st.saved(r) })
	}
	g = min(g, gens)
	r.logf("de: %d generations of %d, cost %.10g", g, np, cost[best])
	out := &outcome{x: pop[best], converged: converged, steps: g, message: fmt.Sprintf("de: %d generations", g)}
	if stopped {
		out.stopped, out.warning = true, fmt.Sprintf("stopped early by request after %d of %d generations: the best point so far", g, gens)
	}
	return out, nil
}

// populationConverged reports whether every member has the best cost to
// within rounding and sits on the best point to ten digits.
func populationConverged(pop [][]float64, cost []float64, best int) bool {
	for i, c := range cost {
		if c-cost[best] > 1e-14*math.Abs(cost[best]) {
			return false
		}
		for j, v := range pop[i] {
			if math.Abs(v-pop[best][j]) > 1e-10*math.Abs(pop[best][j]) {
				return false
			}
		}
	}
	return true
}

func argmin(v []float64) int {
	best := 0
	for i, x := range v {
		if x < v[best] {
			best = i
		}
	}
	return best
}

// distinct2 draws two distinct indices in [0, n) that differ from i.
func distinct2(rng interface{ IntN(int) int }, n, i int) (int, int) {
	a := rng.IntN(n - 1)
	if a >= i {
		a++
	}
	for {
		b := rng.IntN(n)
		if b != i && b != a {
			return a, b
		}
	}
}
