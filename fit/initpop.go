package fit

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// dreamInits are the values of options.init, as Bumps names its population
// initialisers (bumps/initpop.py).
var dreamInits = []string{"eps", "lhs", "cov", "random"}

// epsInitScale is the half-width of the "eps" ball relative to each
// parameter's range, Bumps' eps_init default.
const epsInitScale = 1e-6

// covInitScale is the standard deviation, relative to the range, of the
// "cov" population when the start point gives no usable covariance.
const covInitScale = 0.2

// dreamPopulation places DREAM's n chains. The first chain is always the
// start point (clipped into the box), as Bumps' use_point does, so the
// sampler never begins worse than the user's guess.
//
// The default, "eps", is a tiny ball around the start: chains that begin
// together spread out at the rate the posterior allows, and differential
// jumps are scaled by that spread. Starting uniformly over a box that spans
// decades instead leaves most chains far out in the tails, where the
// jumps are huge and almost all are rejected; 100 burn-in generations were
// then nowhere near enough (Misra1a: acceptance 0.02, R-hat 4). A ball
// needs a start in every free parameter, so without one the population is
// uniform over the bounds ("random").
func dreamPopulation(r *runner, rng *rand.Rand, x0, lo, hi []float64, n int) ([][]float64, error) {
	method := r.opts.Init
	if method == "" {
		method = "eps"
		if r.opts.noStart {
			method = "random"
		}
	}
	switch method {
	case "eps":
		return epsPopulation(rng, x0, lo, hi, n), nil
	case "lhs":
		return lhsPopulation(rng, x0, lo, hi, n), nil
	case "cov":
		cov, err := r.e.covarianceAt(r.ctx, x0)
		if err != nil {
			return nil, err
		}
		return covPopulation(rng, x0, lo, hi, n, cov), nil
	default:
		return initialPopulation(rng, x0, lo, hi, n), nil
	}
}

// initScale is Bumps' _get_scale_factor: frac of each parameter's range,
// or of its start value when unbounded, or frac itself when that is zero.
func initScale(frac float64, x0, lo, hi []float64) []float64 {
	s := make([]float64, len(x0))
	for j := range s {
		s[j] = frac * (hi[j] - lo[j])
		if !isFinite(s[j]) {
			s[j] = frac * math.Abs(x0[j])
		}
		if s[j] == 0 {
			s[j] = frac
		}
	}
	return s
}

// epsPopulation is the start plus a uniform displacement of at most
// epsInitScale of each range, folded back into the box.
func epsPopulation(rng *rand.Rand, x0, lo, hi []float64, n int) [][]float64 {
	scale := initScale(epsInitScale, x0, lo, hi)
	pop := make([][]float64, n)
	for i := range pop {
		x := append([]float64(nil), x0...)
		if i > 0 {
			for j := range x {
				x[j] += scale[j] * (2*rng.Float64() - 1)
			}
			foldInto(x, lo, hi)
		}
		pop[i] = x
	}
	return pop
}

// lhsPopulation is a Latin hypercube over the box: each parameter's range
// is cut into n bins and each bin holds one chain. The start takes its
// own bin. Unbounded sides get a range from the start, as in Bumps.
func lhsPopulation(rng *rand.Rand, x0, lo, hi []float64, n int) [][]float64 {
	pop := make([][]float64, n)
	for i := range pop {
		pop[i] = append([]float64(nil), x0...)
	}
	for j, x := range x0 {
		a, b := lo[j], hi[j]
		switch {
		case !isFinite(a) && !isFinite(b):
			a, b = min(0, 2*x), max(0, 2*x)
			if x == 0 {
				a, b = -1, 1
			}
		case !isFinite(a):
			a = b - 2*max(b-x, 1)
		case !isFinite(b):
			b = a + 2*max(x-a, 1)
		}
		if !(b > a) {
			continue // lo == hi: every chain has the one allowed value
		}
		own := min(max(int(float64(n)*(x-a)/(b-a)), 0), n-1)
		perm := rng.Perm(n - 1)
		for i := 1; i < n; i++ {
			bin := perm[i-1]
			if bin >= own {
				bin++
			}
			pop[i][j] = a + (float64(bin)+rng.Float64())/float64(n)*(b-a)
		}
	}
	return pop
}

// covPopulation draws from a Gaussian around the start with covariance
// cov (that of the linearized fit at the start), or with covInitScale of
// each range on the diagonal when cov is not positive definite, as when
// the data do not determine some parameter there.
func covPopulation(rng *rand.Rand, x0, lo, hi []float64, n int, cov [][]float64) [][]float64 {
	d := len(x0)
	sym := mat.NewSymDense(d, nil)
	ok := true
	for j := range d {
		for k := j; k < d; k++ {
			ok = ok && isFinite(cov[j][k])
			sym.SetSym(j, k, cov[j][k])
		}
	}
	var chol mat.Cholesky
	if !ok || !chol.Factorize(sym) {
		scale := initScale(covInitScale, x0, lo, hi)
		for j := range d {
			for k := j; k < d; k++ {
				sym.SetSym(j, k, 0)
			}
			sym.SetSym(j, j, scale[j]*scale[j])
		}
		chol.Factorize(sym)
	}
	var l mat.TriDense
	chol.LTo(&l)
	pop := make([][]float64, n)
	z := make([]float64, d)
	for i := range pop {
		x := append([]float64(nil), x0...)
		if i > 0 {
			for j := range z {
				z[j] = rng.NormFloat64()
			}
			for j := range x {
				for k := 0; k <= j; k++ {
					x[j] += l.At(j, k) * z[k]
				}
			}
			foldInto(x, lo, hi)
		}
		pop[i] = x
	}
	return pop
}
