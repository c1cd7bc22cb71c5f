package fit

import (
	"math"
	"sort"
)

// addPosterior fills the posterior statistics of each free parameter from
// the draws (rows over the free parameters).
func addPosterior(res *Result, p *problem, draws [][]float64) {
	if len(draws) == 0 {
		return
	}
	col := make([]float64, len(draws))
	for j, k := range p.free {
		for i, d := range draws {
			col[i] = d[j]
		}
		sort.Float64s(col)
		mean, sq := 0.0, 0.0
		for _, v := range col {
			mean += v
		}
		mean /= float64(len(col))
		for _, v := range col {
			sq += (v - mean) * (v - mean)
		}
		std := math.Sqrt(sq / float64(max(1, len(col)-1)))
		median := quantile(col, 0.5)
		pr := res.Parameters[p.names[k]]
		pr.Mean, pr.Median, pr.Std = &mean, &median, &std
		pr.P68 = &[2]float64{quantile(col, 0.15865525393145707), quantile(col, 0.8413447460685429)}
		pr.P95 = &[2]float64{quantile(col, 0.025), quantile(col, 0.975)}
		res.Parameters[p.names[k]] = pr
	}
}

// addDiagnostics records each free parameter's R-hat and ESS.
func addDiagnostics(res *Result, p *problem, rhat, ess []float64) {
	for j, k := range p.free {
		if j >= len(rhat) {
			return
		}
		pr := res.Parameters[p.names[k]]
		r, e := Float(rhat[j]), Float(ess[j])
		pr.Rhat, pr.ESS = &r, &e
		res.Parameters[p.names[k]] = pr
	}
}

// quantile of sorted values by linear interpolation between order
// statistics.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
