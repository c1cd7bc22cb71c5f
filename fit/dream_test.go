package fit

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// With every dy set to the certified residual standard deviation, Misra1a's
// posterior is close to Gaussian around the certified values with the
// certified standard deviations, so DREAM must reproduce both.
func TestDREAMMisra1a(t *testing.T) {
	t.Parallel()
	p := loadNIST(t, "Misra1a")
	js := p.specJSON("dream", p.start2, `"options": {"seed": 7, "samples": 60000, "burn": 600},`)
	dy := make([]float64, len(p.cols[0]))
	for i := range dy {
		dy[i] = p.resSD
	}
	js = strings.Replace(js, `"y":`, `"dy": `+jsonArr(dy)+`, "y":`, 1)
	js = strings.Replace(js, `"scale_errors": true`, `"scale_errors": false`, 1)
	spec, err := ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), spec, Options{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Message)
	if !res.Converged {
		t.Errorf("not converged: %s", res.Message)
	}
	for k, name := range []string{"b1", "b2"} {
		pr := res.Parameters[name]
		if pr.Mean == nil || pr.Std == nil || pr.P68 == nil || pr.P95 == nil {
			t.Fatalf("%s: posterior statistics missing: %+v", name, pr)
		}
		cert, sd := p.cert[k], p.certSD[k]
		t.Logf("%s: mean %.8g (cert %.8g), std %.4g (cert %.4g), p68 %v, p95 %v", name, *pr.Mean, cert, *pr.Std, sd, *pr.P68, *pr.P95)
		// The posterior of a slightly nonlinear model differs from the
		// linearized one by a few percent of sd; Monte-Carlo error with
		// thousands of effective draws is about as large. 0.15 sd on the
		// mean and 12% on the width leave room for both and still catch a
		// sampler that is biased or too narrow or wide.
		if d := math.Abs(*pr.Mean-cert) / sd; d > 0.15 {
			t.Errorf("%s: mean %.8g is %.2f sd from the certified %.8g", name, *pr.Mean, d, cert)
		}
		if r := *pr.Std / sd; r < 0.88 || r > 1.12 {
			t.Errorf("%s: std %.4g is %.2f times the certified %.4g", name, *pr.Std, r, sd)
		}
		// For a Gaussian the central 68% interval spans 2 sd.
		if w := (pr.P68[1] - pr.P68[0]) / (2 * sd); w < 0.85 || w > 1.15 {
			t.Errorf("%s: p68 width %.3g sd, want about 2", name, 2*w)
		}
		if !(pr.P95[0] < pr.P68[0] && pr.P68[1] < pr.P95[1]) {
			t.Errorf("%s: p95 %v does not contain p68 %v", name, *pr.P95, *pr.P68)
		}
		if lre(pr.Value, cert) < 4 {
			t.Errorf("%s: best point %.8g far from certified %.8g", name, pr.Value, cert)
		}
	}
}

// A budget too small to converge says so; until_converged keeps sampling
// until R-hat and ESS meet the thresholds, within max_samples.
func TestDREAMUntilConverged(t *testing.T) {
	t.Parallel()
	pp := misra1aPosterior(t)
	run := func(extra string) *Result {
		return runJSON(t, strings.Replace(pp.spec(200, 3), `"samples":200`, `"samples":200`+extra, 1), 1)
	}
	short := run("")
	if short.Converged || !strings.Contains(short.Warning, "not converged") {
		t.Errorf("200 draws: converged %t, warning %q; want a warning", short.Converged, short.Warning)
	}
	if pr := short.Parameters["b1"]; pr.P95 == nil || pr.Std == nil || pr.Rhat == nil || pr.ESS == nil {
		t.Errorf("a run that has not converged must still report intervals, R-hat and ESS: %+v", pr)
	}
	long := run(`,"until_converged":true,"max_samples":50000`)
	if !long.Converged || long.Warning != "" {
		t.Errorf("until_converged: converged %t, warning %q", long.Converged, long.Warning)
	}
	n := len(long.fit.samples)
	if n <= 200 || n > 50000 {
		t.Errorf("until_converged kept %d draws, want more than 200 and at most 50000", n)
	}
	for _, name := range []string{"b1", "b2"} {
		pr := long.Parameters[name]
		if float64(*pr.Rhat) >= maxConvergedRhat || float64(*pr.ESS) < minConvergedESS {
			t.Errorf("%s: R-hat %.4f, ESS %.0f after until_converged", name, float64(*pr.Rhat), float64(*pr.ESS))
		}
	}
	var opts map[string]any
	if err := json.Unmarshal(long.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if opts["until_converged"] != true || opts["max_samples"] != 50000.0 || opts["seed"] != 3.0 || opts["chains"] != 8.0 {
		t.Errorf("recorded options %v", opts)
	}
}

// A spec without a seed records the one it drew, and that seed repeats
// the fit.
func TestDREAMRecordsSeed(t *testing.T) {
	t.Parallel()
	pp := misra1aPosterior(t)
	js := strings.Replace(pp.spec(1000, 0), `"seed":0,`, "", 1)
	spec, err := ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Run(context.Background(), spec, Options{CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if first.Seed == nil || *first.Seed == 0 || first.Version == "" || first.Engine != Engine {
		t.Fatalf("seed %v, version %q, engine %q", first.Seed, first.Version, first.Engine)
	}
	spec.Options.Seed = *first.Seed
	again, err := Run(context.Background(), spec, Options{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if *again.Parameters["b1"].Median != *first.Parameters["b1"].Median {
		t.Errorf("seed %d did not repeat the fit: median %v then %v", *first.Seed, *first.Parameters["b1"].Median, *again.Parameters["b1"].Median)
	}
}
