package fit

import (
	"math"
	"sort"
)

// propose writes chain i's proposal, inside the box, into out. It
// returns the crossover index it used (crSnooker, crIndep for moves
// without one) and the log of the proposal's factor in the acceptance
// ratio: -Inf rejects the move (out is then x, so nothing outside the
// box is evaluated).
func (st *dreamState) propose(i int, out []float64) (int, float64) {
	rng, x := st.rng, st.X[i]
	d := len(x)
	if len(st.Modes) > 0 && rng.Float64() < st.IndepProb {
		return crIndep, st.rejectOutside(x, out, st.independent(x, out))
	}
	// The snooker move's choice may not depend on x (as falling back to
	// a differential jump when it cannot move would), or the mixture of
	// moves loses detailed balance; when it cannot move it stays.
	if d > 1 && len(st.Archive) >= 3 && rng.Float64() < dreamSnooker {
		return crSnooker, st.rejectOutside(x, out, st.snooker(x, out))
	}
	delta := 1 + rng.IntN(min(dreamDeltaMax, len(st.Archive)/2))
	m := pickIndex(rng.Float64(), st.PCR)
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
		gamma = 1 // a jump the size of the spread between modes
	}
	// 2*delta distinct states from the past (ter Braak and Vrugt 2008).
	picks := st.distinctArchive(2 * delta)
	copy(out, x)
	for j := range d {
		e := dreamC * (2*rng.Float64() - 1)
		eps := dreamCStar * rng.NormFloat64()
		if !dims[j] {
			continue
		}
		diff := 0.0
		for k := range delta {
			diff += st.Archive[picks[2*k]][j] - st.Archive[picks[2*k+1]][j]
		}
		out[j] += (1+e)*gamma*diff + eps
	}
	// The jump is symmetric and independent of x, so reflecting it at
	// the bounds keeps it symmetric.
	reflectInto(out, st.lo, st.hi)
	return m, 0
}

// rejectOutside turns a proposal outside the box into a rejection
// (logq -Inf, out reset to x). Reflecting an independence or snooker
// proposal would change its density, or move it off the snooker line,
// and so falsify the acceptance ratio.
func (st *dreamState) rejectOutside(x, out []float64, logq float64) float64 {
	if math.IsInf(logq, -1) || !inBox(out, st.lo, st.hi) {
		copy(out, x)
		return math.Inf(-1)
	}
	return logq
}

// crIndep and crSnooker mark proposals that use no crossover value.
const (
	crSnooker = -1
	crIndep   = -2
)

// independent draws out from the mixture of multivariate t distributions
// (dreamIndepNu degrees of freedom) centred on the Laplace modes, and
// returns log q(x) - log q(out), the proposal's share of the acceptance
// ratio.
func (st *dreamState) independent(x, out []float64) float64 {
	rng := st.rng
	w := st.Modes.weights()
	m := st.Modes[pickIndex(rng.Float64(), w)]
	z := make([]float64, len(x))
	for j := range z {
		z[j] = rng.NormFloat64()
	}
	chi2 := 0.0
	for range dreamIndepNu {
		g := rng.NormFloat64()
		chi2 += g * g
	}
	copy(out, m.X)
	m.add(out, z, dreamIndepScale/math.Sqrt(chi2/dreamIndepNu))
	if !inBox(out, st.lo, st.hi) {
		return math.Inf(-1) // not evaluated: logIndep would be wasted
	}
	return st.logIndep(x, w) - st.logIndep(out, w)
}

// logIndep is the log density, up to a constant, of the independence
// proposal's mixture at x.
func (st *dreamState) logIndep(x []float64, w []float64) float64 {
	nu, d := float64(dreamIndepNu), float64(len(x))
	s := 0.0
	for k, m := range st.Modes {
		q := m.mahalanobis2(x) / (dreamIndepScale * dreamIndepScale)
		s += w[k] * math.Exp(-m.logDetL()-(nu+d)/2*math.Log1p(q/nu))
	}
	return math.Log(s)
}

// snooker is ter Braak and Vrugt's snooker update: a jump along the line
// from an archived state z through x, by the difference of two more
// archived states projected onto that line. The acceptance ratio gains
// (|x'-z|/|x-z|)^(d-1); -Inf when x lies on z and there is no line.
func (st *dreamState) snooker(x, out []float64) float64 {
	picks := st.distinctArchive(3)
	z, z1, z2 := st.Archive[picks[0]], st.Archive[picks[1]], st.Archive[picks[2]]
	dir2, proj := 0.0, 0.0
	for j := range x {
		dj := x[j] - z[j]
		dir2 += dj * dj
		proj += (z1[j] - z2[j]) * dj
	}
	if dir2 == 0 {
		return math.Inf(-1)
	}
	gamma := 1.2 + st.rng.Float64() // U(1.2, 2.2)
	step := gamma * proj / dir2
	after := 0.0
	for j := range x {
		out[j] = x[j] + step*(x[j]-z[j])
		after += (out[j] - z[j]) * (out[j] - z[j])
	}
	if after == 0 {
		return math.Inf(-1)
	}
	return float64(len(x)-1) / 2 * math.Log(after/dir2)
}

// distinctArchive draws k distinct archive indices.
func (st *dreamState) distinctArchive(k int) []int {
	picks := make([]int, 0, k)
	for len(picks) < k {
		c := st.rng.IntN(len(st.Archive))
		dup := false
		for _, p := range picks {
			dup = dup || p == c
		}
		if !dup {
			picks = append(picks, c)
		}
	}
	return picks
}

// pickIndex returns k with probability p[k] for u uniform in [0, 1).
func pickIndex(u float64, p []float64) int {
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
		total += jumpSum[k] / count[k]
	}
	for k := range pCR {
		pCR[k] = jumpSum[k] / count[k] / total
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

// resetOutliers moves chains whose mean log-density over the second half
// of the generations since from is below Q1 - 2 IQR of all chains' means
// onto the best chain (Vrugt 2016), and returns how many it moved.
func (st *dreamState) resetOutliers(from int) int {
	rows := st.LogP[from:]
	half := rows[len(rows)/2:]
	if len(half) == 0 {
		return 0
	}
	nc := len(st.X)
	mean := make([]float64, nc)
	for _, row := range half {
		for i, v := range row {
			mean[i] += v / float64(len(half))
		}
	}
	sorted := append([]float64(nil), mean...)
	sort.Float64s(sorted)
	q1, med, q3 := quantile(sorted, 0.25), quantile(sorted, 0.5), quantile(sorted, 0.75)
	// A chain in the posterior's typical set has a log density within
	// about d/2 ± sqrt(d/2) of the others; requiring a gap of d as well
	// keeps the IQR rule from resetting chains that are merely in a tail
	// for a while (the mean of a short window is skewed and noisy).
	gap := float64(len(st.X[0]))
	best := argmin(st.Cost)
	n := 0
	for i := range nc {
		if mean[i] < q1-2*(q3-q1) && med-mean[i] > gap {
			copy(st.X[i], st.X[best])
			st.Cost[i] = st.Cost[best]
			for _, row := range half {
				row[i] = row[best]
			}
			n++
		}
	}
	st.Resets += n
	return n
}
