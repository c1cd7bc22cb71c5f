package fit

import (
	"cmp"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// dreamInits are the values of options.init: "lm" (the default) and
// Bumps' population initialisers (bumps/initpop.py).
var dreamInits = []string{"lm", "eps", "lhs", "cov", "random"}

// epsInitScale is the half-width of the "eps" ball relative to each
// parameter's range, Bumps' eps_init default.
const epsInitScale = 1e-6

// covInitScale is the standard deviation, relative to the range, of the
// "cov" population when the start point gives no usable covariance.
const covInitScale = 0.2

// dreamPopulation places DREAM's nc chains and the starting archive of
// past states (DREAM(ZS) needs one before any chain has a past).
//
// The default, "lm", starts from the posterior's Laplace approximation
// at the least-squares optimum, or a mixture of them when starts spread
// over the box find several (see laplaceModes). Bumps' initialisers are
// kept as choices: "eps", a tiny ball around the start; "lhs", a Latin
// hypercube over the box; "cov", a Gaussian with the covariance at the
// start; "random", uniform over the box. With those, the archive is the
// chains' starting states and there are no modes for independence
// proposals.
//
// "eps" needs a start in every free parameter, so without one the
// population is uniform over the bounds ("random").
func dreamPopulation(r *runner, rng *rand.Rand, x0, lo, hi []float64, nc int) (x, archive [][]float64, modes modeMixture, err error) {
	method := cmp.Or(r.opts.Init, "lm")
	if method == "eps" && r.opts.noStart {
		method = "random"
	}
	switch method {
	case "lm":
		modes, err = laplaceModes(r, rng, x0)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(modes) > 0 {
			x = modes.draw(rng, lo, hi, nc, true)
			archive = append(cloneRows(x), modes.draw(rng, lo, hi, dreamArchive0(len(x0)), false)...)
			return x, archive, modes, nil
		}
		r.logf("dream: no usable covariance at any least-squares optimum; starting from a Latin hypercube")
		x = lhsPopulation(rng, x0, lo, hi, nc)
	case "eps":
		x = epsPopulation(rng, x0, lo, hi, nc)
	case "lhs":
		x = lhsPopulation(rng, x0, lo, hi, nc)
	case "cov":
		cov, err := r.e.covarianceAt(r.ctx, x0)
		if err != nil {
			return nil, nil, nil, err
		}
		x = covPopulation(rng, x0, lo, hi, nc, cov)
	default:
		x = initialPopulation(rng, x0, lo, hi, nc)
	}
	return x, cloneRows(x), nil, nil
}

// dreamArchive0 is the number of extra starting archive states, DREAM(ZS)'s
// M0 = 10 d.
func dreamArchive0(d int) int { return 10 * d }

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
