package fit

import (
	"math/rand/v2"
	"testing"
)

// stickyTailChains are 8 chains of n draws, independent uniform on
// [0.1, 1] except for two blocks of 100 draws per chain (one in each
// half, so the halves agree) that stay in [0, 0.1): the bulk mixes
// perfectly, the lower tail is visited in a few long stays. Intervals
// from such draws are unreliable, which only the tail ESS shows.
func stickyTailChains(n int) [][]float64 {
	rng := rand.New(rand.NewPCG(9, 9))
	const block = 100
	series := make([][]float64, 8)
	for c := range series {
		s := make([]float64, n)
		for t := range s {
			s[t] = 0.1 + 0.9*rng.Float64()
		}
		for _, start := range []int{rng.IntN(n/2 - block), n/2 + rng.IntN(n/2-block)} {
			for t := start; t < start+block; t++ {
				s[t] = 0.1 * rng.Float64()
			}
		}
		series[c] = s
	}
	return series
}

func TestTailESSCatchesStickyTails(t *testing.T) {
	rhat, bulk, tail := chainDiagnostics(stickyTailChains(3000))
	t.Logf("R-hat %.4f, bulk ESS %.0f, tail ESS %.0f", rhat, bulk, tail)
	if !(rhat < maxConvergedRhat && bulk >= minConvergedESS) {
		t.Fatalf("the example should pass R-hat and bulk ESS: R-hat %.4f, bulk ESS %.0f", rhat, bulk)
	}
	if tail >= minConvergedESS {
		t.Errorf("tail ESS %.0f of chains that visit their lower tail 16 times, want < %d", tail, minConvergedESS)
	}
	if convergedDiagnostics(rhat, bulk, tail) {
		t.Error("chains with a sticky tail count as converged")
	}
	// Independent draws: every diagnostic is fine.
	rng := rand.New(rand.NewPCG(10, 10))
	iid := make([][]float64, 8)
	for c := range iid {
		for range 1500 {
			iid[c] = append(iid[c], rng.NormFloat64())
		}
	}
	rhat, bulk, tail = chainDiagnostics(iid)
	t.Logf("independent: R-hat %.4f, bulk ESS %.0f, tail ESS %.0f", rhat, bulk, tail)
	if !convergedDiagnostics(rhat, bulk, tail) || tail < 6000 || bulk < 6000 {
		t.Errorf("independent draws: R-hat %.4f, bulk ESS %.0f, tail ESS %.0f", rhat, bulk, tail)
	}
}
