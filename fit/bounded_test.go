package fit

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// wideBounds are the bounds comparebumps gives both programs: per parameter
// [min/10, max*10] of its two certified starts and certified value, a box
// spanning two decades or more around everything a fit should visit.
func (p *nistProblem) wideBounds(t testing.TB) (lo, hi []float64) {
	t.Helper()
	for k := range p.cert {
		a := min(p.start1[k], p.start2[k], p.cert[k])
		b := max(p.start1[k], p.start2[k], p.cert[k])
		switch {
		case a > 0:
			lo, hi = append(lo, a/10), append(hi, b*10)
		case b < 0:
			lo, hi = append(lo, a*10), append(hi, b/10)
		default:
			t.Fatalf("%s b%d: start and certified values change sign", p.name, k+1)
		}
	}
	return lo, hi
}

// boundedSpec is specJSON with the wide bounds on every parameter and, when
// dy > 0, every point given that uncertainty (and errors not rescaled).
func (p *nistProblem) boundedSpec(t testing.TB, fitter string, start []float64, dy float64, extra string) *Spec {
	t.Helper()
	js := p.specJSON(fitter, start, extra)
	lo, hi := p.wideBounds(t)
	for k, v := range start {
		old := fmt.Sprintf(`"b%d": {"value": %s}`, k+1, jsonNum(v))
		repl := fmt.Sprintf(`"b%d": {"value": %s, "min": %s, "max": %s}`, k+1, jsonNum(v), jsonNum(lo[k]), jsonNum(hi[k]))
		if !strings.Contains(js, old) {
			t.Fatalf("spec has no %s", old)
		}
		js = strings.Replace(js, old, repl, 1)
	}
	if dy > 0 {
		dys := make([]float64, len(p.cols[0]))
		for i := range dys {
			dys[i] = dy
		}
		js = strings.Replace(js, `"y":`, `"dy": `+jsonArr(dys)+`, "y":`, 1)
		js = strings.Replace(js, `"scale_errors": true`, `"scale_errors": false`, 1)
	}
	spec, err := ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// From NIST start 1 (b1=1, b2=5) with b2 in [0.386, 50], a first simplex
// step of 10% of the range reaches past the lower bound; amoeba used to clip
// such vertices onto the bound and stall there at RSS 6.06, while Bumps'
// bounded simplex reaches the certified minimum.
func TestAmoebaDanWoodWideBounds(t *testing.T) {
	t.Parallel()
	p := loadNIST(t, "DanWood")
	spec := p.boundedSpec(t, "amoeba", p.start1, 0, `"options": {"seed": 1},`)
	res, err := Run(context.Background(), spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dp := 16.0
	for k := range p.cert {
		name := fmt.Sprintf("b%d", k+1)
		dp = min(dp, lre(res.Parameters[name].Value, p.cert[k]))
		t.Logf("%s = %.10g (certified %.10g)", name, res.Parameters[name].Value, p.cert[k])
	}
	dr := lre(res.Chisq, p.rss)
	t.Logf("RSS %.10g (certified %.10g): params %.2f digits, rss %.2f digits; %s", res.Chisq, p.rss, dp, dr, res.Message)
	if dr < 6 {
		t.Errorf("RSS %.10g agrees with the certified %.10g to %.2f digits, want 6", res.Chisq, p.rss, dr)
	}
	if dp < 4 {
		t.Errorf("parameters agree with the certified values to %.2f digits, want 4", dp)
	}
}

// Every edge of the first simplex must be nonzero and end strictly inside
// the box, wherever the start sits in it; a vertex on a bound next to the
// start would begin the simplex thin against that face.
func TestAmoebaInitialStepsStayInside(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	for _, c := range []struct{ x, lo, hi float64 }{
		{5, 0.386, 50}, {50, 0.386, 50}, {0.386, 0.386, 50}, {1, 0.95, 1.05},
		{0, -1, 1}, {0, 0, inf}, {0, -inf, inf}, {-3, -inf, -2.9}, {1e-9, 0, 1e6},
	} {
		h := initialSteps([]float64{c.x}, []float64{c.lo}, []float64{c.hi})[0]
		if v := c.x + h; h == 0 || !(v > c.lo && v < c.hi) {
			t.Errorf("start %g in [%g, %g]: step %g to %g", c.x, c.lo, c.hi, h, v)
		}
		// Relative to the start, not the range: a huge first step on a
		// parameter whose box spans decades is what threw the simplex
		// onto the bound.
		if c.x != 0 && math.Abs(h) > 0.1*math.Abs(c.x)*(1+1e-12) {
			t.Errorf("start %g in [%g, %g]: step %g is more than 10%% of the start", c.x, c.lo, c.hi, h)
		}
	}
}

// dreamWide runs dream on Misra1a from start 2 inside the wide bounds, with
// every dy the certified residual SD so that the posterior SDs are the
// certified parameter SDs.
func dreamWide(t *testing.T, options string) (*nistProblem, *Result) {
	t.Helper()
	p := loadNIST(t, "Misra1a")
	spec := p.boundedSpec(t, "dream", p.start2, p.resSD, `"options": {`+options+`},`)
	res, err := Run(context.Background(), spec, Options{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Message)
	return p, res
}

// With Bumps' own short burn-in (100 generations) and 3000 samples, chains
// started uniformly over a box spanning decades were still spread over it
// when sampling began: posterior std 24-60 times the certified SD. Chains
// started in a small ball around the start point, as Bumps' default "eps"
// initialisation does, must give the posterior: mean within 0.5 SD of the
// certified value and width within 30% of the certified SD. So must chains
// started from the linearized covariance at the start ("cov").
func TestDREAMMisra1aWideBoundsShortBurn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		init string
		seed int
	}{{"", 1}, {"", 2}, {"", 3}, {"cov", 1}} {
		t.Run(fmt.Sprintf("init=%s/seed%d", c.init, c.seed), func(t *testing.T) {
			t.Parallel()
			opts := fmt.Sprintf(`"seed": %d, "burn": 100, "samples": 3000`, c.seed)
			if c.init != "" {
				opts += fmt.Sprintf(`, "init": %q`, c.init)
			}
			p, res := dreamWide(t, opts)
			for k := range p.cert {
				name := fmt.Sprintf("b%d", k+1)
				pr := res.Parameters[name]
				if pr.Mean == nil || pr.Std == nil {
					t.Fatalf("%s: posterior statistics missing", name)
				}
				cert, sd := p.cert[k], p.certSD[k]
				dm, ratio := math.Abs(*pr.Mean-cert)/sd, *pr.Std/sd
				t.Logf("%s: mean %.8g (cert %.8g, %.2f sd off), std %.4g (cert %.4g, ratio %.2f)", name, *pr.Mean, cert, dm, *pr.Std, sd, ratio)
				if dm > 0.5 {
					t.Errorf("%s: mean %.8g is %.2f sd from the certified %.8g", name, *pr.Mean, dm, cert)
				}
				if ratio < 0.7 || ratio > 1.3 {
					t.Errorf("%s: std %.4g is %.2f times the certified %.4g", name, *pr.Std, ratio, sd)
				}
			}
		})
	}
}
