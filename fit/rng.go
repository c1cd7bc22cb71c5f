package fit

import (
	"math"
	"math/rand/v2"
)

// newRand returns the fit's random source. Every draw comes from it on the
// fitter's goroutine, before points are handed to the mapper, so results do
// not depend on the number of CPUs.
func newRand(seed int64) *rand.Rand { return rand.New(newPCG(seed)) }

// newPCG is newRand's source; a sampler that must be checkpointed keeps
// it, since PCG's state can be saved with MarshalBinary.
func newPCG(seed int64) *rand.PCG {
	return rand.NewPCG(uint64(seed), 0x62756d7073657276) // "bumpserv"
}

// initialPopulation draws n points: the start point first, then uniform
// draws inside the box for bounded parameters and Gaussian draws around the
// start (10% of its magnitude) for unbounded ones, clipped to the bounds.
func initialPopulation(rng *rand.Rand, x0, lo, hi []float64, n int) [][]float64 {
	pop := make([][]float64, n)
	for i := range pop {
		x := append([]float64(nil), x0...)
		if i > 0 {
			for j := range x {
				if isFinite(lo[j]) && isFinite(hi[j]) {
					x[j] = lo[j] + rng.Float64()*(hi[j]-lo[j])
				} else {
					scale := 0.1 * math.Abs(x0[j])
					if scale == 0 {
						scale = 0.1
					}
					x[j] = x0[j] + scale*rng.NormFloat64()
				}
			}
			clipBox(x, lo, hi)
		}
		pop[i] = x
	}
	return pop
}

func isFinite(v float64) bool { return v-v == 0 }

// foldInto folds x back into [lo, hi] by mirroring at the bounds, which
// keeps proposal distributions symmetric; what still lies outside after
// one fold (a very long jump) is clipped.
func foldInto(x, lo, hi []float64) {
	for j := range x {
		if x[j] < lo[j] {
			x[j] = 2*lo[j] - x[j]
		} else if x[j] > hi[j] {
			x[j] = 2*hi[j] - x[j]
		}
		x[j] = min(max(x[j], lo[j]), hi[j])
	}
}

// reflectInto mirrors x at the bounds as often as it takes to land in
// [lo, hi] (the bounds repeat like a hall of mirrors). For a proposal
// x + δ with δ symmetric and independent of x this keeps the proposal
// symmetric however long the jump, as a Metropolis step needs; clipping
// what one fold leaves outside would pile draws onto the bounds.
func reflectInto(x, lo, hi []float64) {
	for j, v := range x {
		switch {
		case v >= lo[j] && v <= hi[j]:
			continue
		case !isFinite(hi[j]) && v < lo[j]:
			x[j] = 2*lo[j] - v
		case !isFinite(lo[j]) && v > hi[j]:
			x[j] = 2*hi[j] - v
		default:
			w := hi[j] - lo[j]
			if !(w > 0) {
				x[j] = lo[j]
				continue
			}
			t := math.Mod(v-lo[j], 2*w)
			if t < 0 {
				t += 2 * w
			}
			if t > w {
				t = 2*w - t
			}
			x[j] = lo[j] + t
		}
	}
}
