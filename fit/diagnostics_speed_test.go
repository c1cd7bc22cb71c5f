package fit

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// The end-of-run diagnostics take shortcuts for speed (a radix sort for
// ranks, direct sums for the first lags); these tests hold them to the
// plain computations they replace.

// plainRanks is rank normalisation the obvious way: sort a copy, find
// each draw's ties by binary search.
func plainRanks(chains [][]float64) (z [][]float64, sorted []float64) {
	for _, s := range chains {
		sorted = append(sorted, s...)
	}
	slices.Sort(sorted)
	S := float64(len(sorted))
	z = make([][]float64, len(chains))
	for c, s := range chains {
		z[c] = make([]float64, len(s))
		for t, v := range s {
			lo := sort.SearchFloat64s(sorted, v)
			hi := lo + 1
			for hi < len(sorted) && sorted[hi] == v {
				hi++
			}
			z[c][t] = distuv.UnitNormal.Quantile((float64(lo+1+hi)/2 - 0.375) / (S + 0.25))
		}
	}
	return z, sorted
}

// awkwardDraw mixes ties, signed zeros, infinities and magnitudes from
// 1e-20 to 1e300, where a sort on the values' bits could go wrong.
func awkwardDraw(rng *rand.Rand) float64 {
	switch rng.IntN(6) {
	case 0:
		return float64(rng.IntN(5) - 2)
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return math.Inf(1 - 2*rng.IntN(2))
	case 3:
		return rng.NormFloat64() * 1e300
	default:
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
	}
}

func TestRankNormalizeMatchesPlainRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		chains := make([][]float64, 1+rng.IntN(8))
		n := 1 + rng.IntN(500)
		for c := range chains {
			chains[c] = make([]float64, n)
			for i := range chains[c] {
				chains[c][i] = awkwardDraw(rng)
			}
		}
		wantZ, wantSorted := plainRanks(chains)
		z, sorted := rankNormalize(chains)
		if !slices.Equal(sorted, wantSorted) {
			t.Fatalf("trial %d: sorted draws differ", trial)
		}
		for c := range z {
			for i := range z[c] {
				if math.Float64bits(z[c][i]) != math.Float64bits(wantZ[c][i]) {
					t.Fatalf("trial %d: draw %v (chain %d, %d) normalised to %v, want %v", trial, chains[c][i], c, i, z[c][i], wantZ[c][i])
				}
			}
		}
	}
}

// arChains are m chains of n draws of an AR(1) process x ← φx + ε, whose
// autocorrelation time grows as φ nears 1; binary turns them into the
// 0/1 indicators the tail ESS is computed from.
func arChains(rng *rand.Rand, m, n int, phi float64, binary bool) [][]float64 {
	chains := make([][]float64, m)
	for c := range chains {
		chains[c] = make([]float64, n)
		x := rng.NormFloat64()
		for i := range chains[c] {
			x = phi*x + rng.NormFloat64()
			chains[c][i] = x
			if binary {
				chains[c][i] = 0
				if x < 1 {
					chains[c][i] = 1
				}
			}
		}
	}
	return chains
}

// fftESS is essOf with every lag from the FFT, as before the direct sums.
func fftESS(chains [][]float64) float64 {
	m, n := len(chains), len(chains[0])
	w, vp := chainMoments(chains)
	if w == 0 || vp == 0 {
		return float64(m * n)
	}
	acov := make([][]float64, m)
	fft := newPaddedFFT(n)
	for c, s := range chains {
		acov[c] = fft.autocovariance(s)
	}
	tau, _ := geyerTau(acov, n, w, vp)
	total := float64(m * n)
	return total / max(tau, 1/math.Log10(total))
}

func TestESSMatchesFFTAtEveryMixing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	direct, viaFFT := 0, 0
	for trial := range 300 {
		m, n := 2+rng.IntN(15), 4+rng.IntN(3000)
		phi := []float64{-0.5, 0, 0.3, 0.8, 0.95, 0.99, 0.999}[rng.IntN(7)]
		chains := arChains(rng, m, n, phi, trial%3 == 0)
		want, got := fftESS(chains), essOf(chains)
		if rel := math.Abs(got-want) / want; !(rel < 1e-9) {
			t.Errorf("trial %d (%d chains of %d, φ %g): ESS %v, by FFT %v", trial, m, n, phi, got, want)
		}
		w, vp := chainMoments(chains)
		sums := newLagSums(chains)
		sums.extend(directLagLimit(n))
		if _, ok := geyerTau(sums.acov, n, w, vp); ok {
			direct++
		} else {
			viaFFT++
		}
	}
	if direct == 0 || viaFFT == 0 {
		t.Errorf("the cases should take both ways: %d ended within the direct lags, %d needed the FFT", direct, viaFFT)
	}
}

// BenchmarkESS compares the ways essOf can take on 16 split chains of
// 312,500 draws (5 million in all): the direct sums of directLagLimit
// lags, and the FFT of every lag they fall back to.
func BenchmarkESS(b *testing.B) {
	chains := arChains(rand.New(rand.NewPCG(1, 2)), 16, 312500, 0.9, false)
	b.Run("direct-sums", func(b *testing.B) {
		for b.Loop() {
			newLagSums(chains).extend(directLagLimit(312500))
		}
		b.ReportMetric(float64(directLagLimit(312500)), "lags")
	})
	b.Run("fft", func(b *testing.B) {
		for b.Loop() {
			fft := newPaddedFFT(312500)
			for _, s := range chains {
				fft.autocovariance(s)
			}
		}
	})
}

// BenchmarkChainDiagnostics is the end-of-run cost per parameter of a
// DREAM fit with 5 million draws (8 chains, autocorrelation time ~19).
func BenchmarkChainDiagnostics(b *testing.B) {
	chains := arChains(rand.New(rand.NewPCG(1, 2)), 8, 625000, 0.9, false)
	for b.Loop() {
		chainDiagnostics(chains)
	}
}
