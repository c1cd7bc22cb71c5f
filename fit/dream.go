package fit

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// DREAM constants from Vrugt (2016), "Markov chain Monte Carlo simulation
// using the DREAM software package", as Bumps uses them.
const (
	dreamDeltaMax = 3     // most chain pairs in one differential jump
	dreamNCR      = 3     // crossover values 1/3, 2/3, 1
	dreamJumpProb = 0.2   // probability of a γ=1 jump between modes
	dreamC        = 0.1   // relative jitter of the differential jump
	dreamCStar    = 1e-12 // absolute jitter keeping the chain ergodic
)

// fitDREAM samples the posterior exp(-cost/2) (bounds are a uniform prior)
// with DREAM: a population of chains proposes differential-evolution jumps
// with randomized subspace crossover, whose crossover rates adapt during
// burn-in; chains stuck far below the others (outliers by the
// inter-quartile rule on their mean log-density) are reset onto the best
// chain during burn-in. Every random number of a generation is drawn before
// its proposals are evaluated together on the mapper.
func fitDREAM(r *runner) (*outcome, error) {
	p := r.e.p
	d := p.dim()
	nc := max(cmp.Or(r.opts.Pop, defaultPop)*d, 2*dreamDeltaMax+2)
	burn := cmp.Or(r.opts.Burn, defaultBurn)
	thin := cmp.Or(r.opts.Thin, defaultThin)
	samples := cmp.Or(r.opts.Samples, defaultSamples)
	kept := (samples + nc - 1) / nc // generations whose states are kept
	gens := burn + kept*thin
	rng := newRand(r.opts.Seed)

	x, err := dreamPopulation(r, rng, clipBox(p.x0(), p.lo, p.hi), p.lo, p.hi, nc)
	if err != nil {
		return nil, err
	}
	cost := make([]float64, nc)
	if err := r.e.costs(r.ctx, x, cost); err != nil {
		return nil, err
	}
	bestX, bestCost := append([]float64(nil), x[argmin(cost)]...), cost[argmin(cost)]
	prop := make([][]float64, nc)
	for i := range prop {
		prop[i] = make([]float64, d)
	}
	pcost := make([]float64, nc)
	crIdx := make([]int, nc)
	pCR := []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}
	jumpSum, crCount := make([]float64, dreamNCR), make([]float64, dreamNCR)
	var logp [][]float64
	var draws [][]float64
	sd := make([]float64, d)
	accepted := 0
	for g := 1; g <= gens; g++ {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		for i := range nc {
			crIdx[i] = propose(rng, x, i, prop[i], pCR)
			foldInto(prop[i], p.lo, p.hi)
		}
		u := make([]float64, nc)
		for i := range u {
			u[i] = rng.Float64()
		}
		if err := r.e.costs(r.ctx, prop, pcost); err != nil {
			return nil, err
		}
		spread(x, sd)
		row := make([]float64, nc)
		for i := range nc {
			jump := 0.0
			if math.Log(u[i]) < (cost[i]-pcost[i])/2 {
				for j := range d {
					if sd[j] > 0 {
						jump += (prop[i][j] - x[i][j]) * (prop[i][j] - x[i][j]) / (sd[j] * sd[j])
					}
				}
				x[i], prop[i] = prop[i], x[i]
				cost[i] = pcost[i]
				if g > burn {
					accepted++
				}
			}
			if cost[i] < bestCost {
				bestCost = cost[i]
				copy(bestX, x[i])
			}
			jumpSum[crIdx[i]] += jump
			crCount[crIdx[i]]++
			row[i] = -cost[i] / 2
		}
		logp = append(logp, row)
		if g <= burn {
			adaptCR(pCR, jumpSum, crCount)
			if g%max(burn/10, 10) == 0 {
				resetOutliers(x, cost, logp)
			}
		} else if (g-burn)%thin == 0 {
			for i := range nc {
				draws = append(draws, append([]float64(nil), x[i]...))
			}
		}
		r.progress(g, bestCost, bestX, "")
	}
	rhat := gelmanRubin(draws, nc, d)
	converged := rhat < 1.2
	msg := fmt.Sprintf("dream: %d chains, %d generations, acceptance %.2f, max R-hat %.3f",
		nc, gens, float64(accepted)/float64(max(1, nc*(gens-burn))), rhat)
	r.logf("%s", msg)
	return &outcome{x: bestX, converged: converged, steps: gens, message: msg, samples: draws, logp: logp}, nil
}

// propose writes chain i's differential-evolution proposal into out and
// returns the crossover index it used.
func propose(rng *rand.Rand, x [][]float64, i int, out []float64, pCR []float64) int {
	nc, d := len(x), len(x[0])
	delta := 1 + rng.IntN(min(dreamDeltaMax, (nc-2)/2))
	m := pickIndex(rng, pCR)
	cr := float64(m+1) / dreamNCR
	// Randomized subspace: each dimension with probability cr, at least one.
	dims := make([]bool, d)
	nd := 0
	for j := range d {
		if rng.Float64() < cr {
			dims[j] = true
			nd++
		}
	}
	if nd == 0 {
		dims[rng.IntN(d)] = true
		nd = 1
	}
	gamma := 2.38 / math.Sqrt(float64(2*delta*nd))
	if rng.Float64() < dreamJumpProb {
		gamma = 1
	}
	// 2*delta distinct chains other than i.
	perm := rng.Perm(nc - 1)
	diff := make([]float64, d)
	for k := range delta {
		a, b := perm[2*k], perm[2*k+1]
		if a >= i {
			a++
		}
		if b >= i {
			b++
		}
		for j := range d {
			diff[j] += x[a][j] - x[b][j]
		}
	}
	for j := range d {
		e := dreamC * (2*rng.Float64() - 1)
		eps := dreamCStar * rng.NormFloat64()
		out[j] = x[i][j]
		if dims[j] {
			out[j] += (1+e)*gamma*diff[j] + eps
		}
	}
	return m
}

func pickIndex(rng *rand.Rand, p []float64) int {
	u := rng.Float64()
	for k, pk := range p {
		if u < pk {
			return k
		}
		u -= pk
	}
	return len(p) - 1
}

// adaptCR makes crossover values that produce longer normalized jumps more
// likely, as in DREAM's burn-in.
func adaptCR(pCR, jumpSum, count []float64) {
	total := 0.0
	for k := range pCR {
		if count[k] == 0 || jumpSum[k] == 0 {
			return
		}
		pCR[k] = jumpSum[k] / count[k]
		total += pCR[k]
	}
	for k := range pCR {
		pCR[k] /= total
	}
}

// spread writes the standard deviation across chains of each dimension.
func spread(x [][]float64, sd []float64) {
	n := float64(len(x))
	for j := range sd {
		mean, sq := 0.0, 0.0
		for _, xi := range x {
			mean += xi[j]
		}
		mean /= n
		for _, xi := range x {
			sq += (xi[j] - mean) * (xi[j] - mean)
		}
		sd[j] = math.Sqrt(sq / n)
	}
}

// resetOutliers moves chains whose mean log-density over the last half of
// the history is below Q1 - 2 IQR onto the best chain (Vrugt 2016).
func resetOutliers(x [][]float64, cost []float64, logp [][]float64) {
	nc := len(x)
	half := logp[len(logp)/2:]
	mean := make([]float64, nc)
	for _, row := range half {
		for i, v := range row {
			mean[i] += v / float64(len(half))
		}
	}
	sorted := append([]float64(nil), mean...)
	sort.Float64s(sorted)
	q1, q3 := quantile(sorted, 0.25), quantile(sorted, 0.75)
	best := argmin(cost)
	for i := range nc {
		if mean[i] < q1-2*(q3-q1) {
			copy(x[i], x[best])
			cost[i] = cost[best]
			for _, row := range half {
				row[i] = row[best]
			}
		}
	}
}

// gelmanRubin returns the largest potential scale reduction factor over
// the parameters, treating the draws as nc interleaved chains.
func gelmanRubin(draws [][]float64, nc, d int) float64 {
	n := len(draws) / nc
	if n < 2 {
		return math.Inf(1)
	}
	worst := 0.0
	for j := range d {
		means := make([]float64, nc)
		vars := make([]float64, nc)
		for c := range nc {
			for t := range n {
				means[c] += draws[t*nc+c][j] / float64(n)
			}
			for t := range n {
				dv := draws[t*nc+c][j] - means[c]
				vars[c] += dv * dv / float64(n-1)
			}
		}
		grand, w, b := 0.0, 0.0, 0.0
		for c := range nc {
			grand += means[c] / float64(nc)
			w += vars[c] / float64(nc)
		}
		for c := range nc {
			b += (means[c] - grand) * (means[c] - grand) * float64(n) / float64(nc-1)
		}
		if w == 0 {
			continue
		}
		v := float64(n-1)/float64(n)*w + b/float64(n)
		worst = max(worst, math.Sqrt(v/w))
	}
	return worst
}
