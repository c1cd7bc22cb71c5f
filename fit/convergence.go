package fit

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Convergence thresholds of a DREAM run (Vehtari et al. 2021 recommend
// R-hat below 1.01 and a bulk ESS of at least 100 per chain of four; 400
// in all is the figure they give for reliable intervals).
const (
	maxConvergedRhat = 1.01
	minConvergedESS  = 400
)

// chainDiagnostics returns the rank-normalised split R-hat, the bulk
// effective sample size and the tail effective sample size of one
// parameter, whose draws are given as series[c][t]: chain c at its t-th
// kept generation.
//
// Following Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021): every
// chain is split in halves (so a chain drifting within itself shows up as
// disagreement between its halves), all draws are replaced by the normal
// quantiles of their ranks (which makes the diagnostics insensitive to
// heavy tails and monotone transformations), and R-hat is the larger of
// the bulk value and that of the folded draws |x - median| (which catches
// chains that agree in location but not in scale). The tail ESS is the
// smaller ESS of the indicators x ≤ q5% and x ≤ q95%: the intervals come
// from the tails, and chains that visit them seldom and stay long give
// unreliable interval ends even when the bulk mixes well.
func chainDiagnostics(series [][]float64) (rhat, bulk, tail float64) {
	split := splitChains(series)
	if split == nil {
		return math.Inf(1), 0, 0
	}
	z, sorted := rankNormalize(split)
	med := quantile(sorted, 0.5)
	folded := make([][]float64, len(split))
	for c, s := range split {
		folded[c] = make([]float64, len(s))
		for t, v := range s {
			folded[c][t] = math.Abs(v - med)
		}
	}
	zf, _ := rankNormalize(folded)
	rhat = max(basicRhat(z), basicRhat(zf))
	return rhat, essOf(z), tailESS(split, sorted)
}

// convergedDiagnostics applies the thresholds to one parameter.
func convergedDiagnostics(rhat, bulk, tail float64) bool {
	return rhat < maxConvergedRhat && bulk >= minConvergedESS && tail >= minConvergedESS
}

// tailESS is the smaller ESS of the indicator chains I(x ≤ q) at the 5%
// and 95% quantiles q of all draws (sorted).
func tailESS(split [][]float64, sorted []float64) float64 {
	worst := math.Inf(1)
	ind := make([][]float64, len(split))
	for _, p := range []float64{0.05, 0.95} {
		q := quantile(sorted, p)
		for c, s := range split {
			ind[c] = make([]float64, len(s))
			for t, v := range s {
				if v <= q {
					ind[c][t] = 1
				}
			}
		}
		worst = min(worst, essOf(ind))
	}
	return worst
}

// splitChains halves every chain, dropping the middle draw of an odd
// length; nil when there are fewer than two draws per half.
func splitChains(series [][]float64) [][]float64 {
	if len(series) == 0 {
		return nil
	}
	n := len(series[0]) / 2
	if n < 2 {
		return nil
	}
	out := make([][]float64, 0, 2*len(series))
	for _, s := range series {
		out = append(out, s[:n], s[len(s)-n:])
	}
	return out
}

// rankNormalize replaces each draw by Φ⁻¹((r - 3/8)/(S + 1/4)) of its rank
// r among all S draws (Blom's offsets), ties given their average rank.
// It also returns the draws sorted.
func rankNormalize(chains [][]float64) (z [][]float64, sorted []float64) {
	all := make([]float64, 0, len(chains)*len(chains[0]))
	for _, s := range chains {
		all = append(all, s...)
	}
	order, sorted := sortedOrder(all)
	S := float64(len(sorted))
	flat := make([]float64, len(all))
	for lo := 0; lo < len(sorted); {
		hi := lo + 1
		for hi < len(sorted) && sorted[hi] == sorted[lo] {
			hi++
		}
		rank := float64(lo+1+hi) / 2 // average of ranks lo+1..hi
		q := distuv.UnitNormal.Quantile((rank - 0.375) / (S + 0.25))
		for _, p := range order[lo:hi] {
			flat[p] = q
		}
		lo = hi
	}
	z = make([][]float64, len(chains))
	for c, s := range chains {
		z[c], flat = flat[:len(s):len(s)], flat[len(s):]
	}
	return z, sorted
}

// chainMoments returns the mean of the within-chain variances W and the
// pooled variance estimate var+ = (n-1)/n W + B/n.
func chainMoments(chains [][]float64) (w, varPlus float64) {
	m, n := float64(len(chains)), float64(len(chains[0]))
	means := make([]float64, len(chains))
	for c, s := range chains {
		mu, sq := 0.0, 0.0
		for _, v := range s {
			mu += v
		}
		mu /= n
		for _, v := range s {
			sq += (v - mu) * (v - mu)
		}
		means[c] = mu
		w += sq / (n - 1) / m
	}
	grand := 0.0
	for _, mu := range means {
		grand += mu / m
	}
	bOverN := 0.0
	for _, mu := range means {
		bOverN += (mu - grand) * (mu - grand) / (m - 1)
	}
	return w, (n-1)/n*w + bOverN
}

func basicRhat(chains [][]float64) float64 {
	w, vp := chainMoments(chains)
	if w == 0 {
		if vp == 0 {
			return 1 // every draw equal: nothing disagrees
		}
		return math.Inf(1)
	}
	return math.Sqrt(vp / w)
}

// essOf is the effective sample size of the chains from their combined
// autocorrelation, truncated by Geyer's initial monotone sequence, as in
// Stan: ρ_t = 1 - (W - mean_c acov_c(t)) / var+.
//
// Chains that mix well need only a few lags before the sequence ends, so
// the lags are summed directly, doubling their number until it does
// (lagSums); only chains still correlated at directLagLimit go on to an
// FFT of every lag.
func essOf(chains [][]float64) float64 {
	m, n := len(chains), len(chains[0])
	w, vp := chainMoments(chains)
	if w == 0 || vp == 0 {
		return float64(m * n)
	}
	total := float64(m * n)
	finish := func(tau float64) float64 { return total / max(tau, 1/math.Log10(total)) }
	sums, limit := newLagSums(chains), directLagLimit(n)
	for lags := min(32, limit); ; lags = min(2*lags, limit) {
		sums.extend(lags)
		if tau, ok := geyerTau(sums.acov, n, w, vp); ok {
			return finish(tau)
		}
		if lags == limit {
			break
		}
	}
	acov := make([][]float64, m)
	fft := newPaddedFFT(n)
	for c, s := range chains {
		acov[c] = fft.autocovariance(s)
	}
	tau, _ := geyerTau(acov, n, w, vp)
	return finish(tau)
}

// geyerTau sums the autocorrelations of the chains, whose biased
// autocovariances acov[c][t] are known for the first lags, into the
// integrated autocorrelation time, up to Geyer's initial monotone
// sequence's end. ok is false when that end lies beyond the known lags.
func geyerTau(acov [][]float64, n int, w, vp float64) (tau float64, ok bool) {
	m, lags := len(acov), len(acov[0])
	rho := func(t int) float64 {
		mean := 0.0
		for c := range acov {
			mean += acov[c][t]
		}
		mean /= float64(m)
		// acov(0) is the biased variance; rescale like W.
		return 1 - (w-mean*float64(n)/float64(n-1))/vp
	}
	tau = -1.0
	prev := math.Inf(1)
	for k := 0; 2*k+1 < n; k++ {
		if 2*k+1 >= lags {
			return tau, false
		}
		pair := rho(2*k) + rho(2*k+1)
		if k == 0 {
			pair = 1 + rho(1)
		}
		if pair <= 0 {
			break
		}
		pair = min(pair, prev) // initial monotone sequence
		prev = pair
		tau += 2 * pair
	}
	return tau, true
}

// Diagnosis is what the convergence checks say of a set of chains.
type Diagnosis struct {
	Rhat, ESS, TailESS []float64 // per parameter
	Converged          bool
	Warning            string // why the intervals may be wrong; "" when converged
}

// Diagnose applies the checks DREAM results carry to the draws of another
// sampler (Bumps' DREAM): series[p][c][t] is parameter p in chain c at
// its t-th kept generation. hint ends the warning, saying what to do.
func Diagnose(series [][][]float64, hint string) Diagnosis {
	d := Diagnosis{Rhat: make([]float64, len(series)), ESS: make([]float64, len(series)), TailESS: make([]float64, len(series))}
	d.Converged = len(series) > 0 && len(series[0]) > 0 && len(series[0][0]) > 0
	if !d.Converged {
		d.Warning = "no draws to judge convergence by: " + hint
		return d
	}
	for p, s := range series {
		d.Rhat[p], d.ESS[p], d.TailESS[p] = chainDiagnostics(s)
		d.Converged = d.Converged && convergedDiagnostics(d.Rhat[p], d.ESS[p], d.TailESS[p])
	}
	if !d.Converged {
		d.Warning = notConvergedWarning(slices.Max(d.Rhat), slices.Min(d.ESS), slices.Min(d.TailESS), hint)
	}
	return d
}

// notConvergedWarning says plainly that a run's intervals are not to be
// trusted, with the figures that fail and what to do (hint).
func notConvergedWarning(worstR, leastESS, leastTail float64, hint string) string {
	return fmt.Sprintf("DREAM has not converged (max R-hat %.3f, want < %g; min ESS %.0f, tail ESS %.0f, want >= %d): "+
		"the intervals may be wrong; %s", worstR, maxConvergedRhat, leastESS, leastTail, minConvergedESS, hint)
}
