package web

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"sort"

	"github.com/bumpserve/bumpserve/fit"
)

// results is a fit's results document (native and Bumps fits write the
// same shape) arranged for the results tables.
type results struct {
	Fitter       string
	Converged    bool
	Chisq        float64
	ReducedChisq float64
	DOF          int
	Evaluations  int64
	Steps        int
	Message      string
	// Warning is why the results are not to be trusted (DREAM that has
	// not converged, a fit stopped early); the page shows it beside the
	// intervals.
	Warning string
	// Stopped: the fit was stopped early by request (any fitter).
	Stopped bool
	Params  []paramRow
	// Posterior is set when the fitter sampled a posterior (DREAM), which
	// adds mean, median and credible intervals to the table.
	Posterior bool
	// Corr is the correlation matrix over Names; NaN where undetermined.
	Names []string
	Corr  [][]float64
}

type paramRow struct {
	Name           string
	Value, Stderr  float64
	Fixed          bool
	Mean, Median   *float64
	Std            *float64
	P68, P95       *[2]float64
	Rhat, ESS      *float64 // DREAM's convergence diagnostics
	HasUncertainty bool
}

// parseResults reads a results document; ok is false for a document of
// another shape (such as the sleep service's), shown as plain JSON.
func parseResults(raw json.RawMessage) (r *results, ok bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var fr fit.Result
	if err := json.Unmarshal(raw, &fr); err != nil || len(fr.Parameters) == 0 {
		return nil, false
	}
	r = &results{Fitter: fr.Fitter, Converged: fr.Converged, Chisq: fr.Chisq, ReducedChisq: float64(fr.ReducedChisq),
		DOF: fr.DOF, Evaluations: fr.Evaluations, Steps: fr.Steps, Message: fr.Message, Warning: fr.Warning, Stopped: fr.Stopped}
	names := fr.ParameterOrder
	if len(names) != len(fr.Parameters) {
		// A document without a usable order (a hand-made one): by name.
		names = make([]string, 0, len(fr.Parameters))
		for n := range fr.Parameters {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	for _, n := range names {
		p := fr.Parameters[n]
		row := paramRow{Name: n, Value: p.Value, Stderr: float64(p.Stderr), Fixed: p.Fixed,
			Mean: p.Mean, Median: p.Median, Std: p.Std, P68: p.P68, P95: p.P95, Rhat: floatPtr(p.Rhat), ESS: floatPtr(p.ESS)}
		row.HasUncertainty = !p.Fixed && !math.IsNaN(row.Stderr) && !math.IsInf(row.Stderr, 0)
		r.Posterior = r.Posterior || p.Mean != nil
		r.Params = append(r.Params, row)
	}
	if r.Posterior && !r.Converged && r.Warning == "" {
		// A Bumps DREAM run has no warning of its own.
		r.Warning = "the sampler reports that it has not converged; the intervals may be wrong"
	}
	if len(fr.Correlation) == len(names) {
		r.Names = slices.Clone(names)
		for _, row := range fr.Correlation {
			out := make([]float64, len(names))
			for i := range out {
				out[i] = math.NaN()
				if i < len(row) {
					out[i] = float64(row[i])
				}
			}
			r.Corr = append(r.Corr, out)
		}
	}
	return r, true
}

func floatPtr(f *fit.Float) *float64 {
	if f == nil {
		return nil
	}
	v := float64(*f)
	return &v
}

// prettyJSON indents a document for showing; anything unreadable is shown
// as it came.
func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
