package fit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// WriteOutputs writes results.json, fit.par and fit.err and, for a Result
// returned by Run, the plots as SVG and PNG: fit (the data, the fit and
// the residuals below them) and for dream hist, corr and trace, into dir.
func WriteOutputs(dir string, spec *Spec, res *Result) error {
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	files := map[string][]byte{
		"results.json": append(js, '\n'),
		"fit.par":      []byte(parFile(res)),
		"fit.err":      []byte(errFile(spec, res)),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if res.fit == nil {
		return nil
	}
	return errors.Join(writePlots(dir, res)...)
}

// parFile is Bumps' .par format: one "name value" line per parameter.
func parFile(res *Result) string {
	var b strings.Builder
	for _, name := range res.ParameterOrder {
		fmt.Fprintf(&b, "%s %.17g\n", name, res.Parameters[name].Value)
	}
	return b.String()
}

// errFile is a Bumps-style summary: fit statistics, then one row per
// parameter with its uncertainty (and posterior statistics for dream).
func errFile(spec *Spec, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fitter: %s (converged: %t)\n", res.Fitter, res.Converged)
	fmt.Fprintf(&b, "chisq: %.10g  dof: %d  reduced chisq: %.6g  evaluations: %d\n",
		res.Chisq, res.DOF, float64(res.ReducedChisq), res.Evaluations)
	if res.PriorChisq > 0 {
		fmt.Fprintf(&b, "prior chisq: %.6g\n", res.PriorChisq)
	}
	if spec != nil && spec.ScaleErrors {
		b.WriteString("uncertainties scaled by sqrt(reduced chisq)\n")
	}
	if res.Message != "" {
		fmt.Fprintf(&b, "%s\n", res.Message)
	}
	if res.Warning != "" {
		fmt.Fprintf(&b, "WARNING: %s\n", res.Warning)
	}
	b.WriteString("\n")
	dream := false
	for _, pr := range res.Parameters {
		dream = dream || pr.Mean != nil
	}
	fmt.Fprintf(&b, "%-12s %-24s %-12s", "parameter", "value", "stderr")
	if dream {
		fmt.Fprintf(&b, " %-14s %-14s %-12s %-30s %-30s %-8s %s", "mean", "median", "std", "68% interval", "95% interval", "R-hat", "ESS")
	}
	b.WriteString("\n")
	for _, name := range res.ParameterOrder {
		pr := res.Parameters[name]
		stderr := fmt.Sprintf("%.6g", float64(pr.Stderr))
		if pr.Fixed {
			stderr = "fixed"
		} else if math.IsInf(float64(pr.Stderr), 0) || math.IsNaN(float64(pr.Stderr)) {
			stderr = "undetermined"
		}
		fmt.Fprintf(&b, "%-12s %-24.15g %-12s", name, pr.Value, stderr)
		if pr.Mean != nil {
			fmt.Fprintf(&b, " %-14.8g %-14.8g %-12.6g %-30s %-30s", *pr.Mean, *pr.Median, *pr.Std,
				fmt.Sprintf("[%.6g, %.6g]", pr.P68[0], pr.P68[1]), fmt.Sprintf("[%.6g, %.6g]", pr.P95[0], pr.P95[1]))
			if pr.Rhat != nil && pr.ESS != nil {
				fmt.Fprintf(&b, " %-8.4f %.0f", float64(*pr.Rhat), float64(*pr.ESS))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
