package fit

import (
	"encoding/json"
	"math"
	"strconv"
)

// Result is the outcome of a fit, as written to results.json.
type Result struct {
	Fitter       string  `json:"fitter"`
	Converged    bool    `json:"converged"`
	Chisq        float64 `json:"chisq"` // data only, priors excluded
	ReducedChisq Float   `json:"reduced_chisq"`
	DOF          int     `json:"dof"`
	Evaluations  int64   `json:"evaluations"`
	// PriorChisq is the cost the Gaussian priors add at the optimum.
	PriorChisq float64 `json:"prior_chisq,omitempty"`
	// Steps is the number of iterations or generations the fitter ran.
	Steps   int    `json:"steps"`
	Message string `json:"message,omitempty"`
	// Warning says plainly why the result should not be trusted, as when
	// DREAM's chains have not converged.
	Warning string `json:"warning,omitempty"`
	// Stopped is set when the fit was stopped early by request: the best
	// point is the best found so far and DREAM's statistics come from the
	// draws made so far.
	Stopped bool `json:"stopped,omitempty"`
	// What repeats the fit: bumpserve's version, the engine ("bumpserve"
	// for this one, "bumps" for Bumps jobs, whose Versions then name
	// bumps, numpy, scipy and python), the random seed actually used and
	// every option with its default filled in.
	Version  string            `json:"version,omitempty"`
	Engine   string            `json:"engine,omitempty"`
	Versions map[string]string `json:"versions,omitempty"`
	Seed     *int64            `json:"seed,omitempty"`
	Options  json.RawMessage   `json:"options,omitempty"`
	// Parameters by name; ParameterOrder gives the spec's order.
	Parameters     map[string]ParamResult `json:"parameters"`
	ParameterOrder []string               `json:"parameter_order"`
	// Correlation has one row and column per entry of ParameterOrder;
	// rows of fixed or undetermined parameters are null.
	Correlation [][]Float `json:"correlation,omitempty"`

	// fit holds what the plots need; nil in a Result decoded from JSON.
	fit *fitDetail
}

// ParamResult is one parameter's estimate.
type ParamResult struct {
	Value  float64 `json:"value"`
	Stderr Float   `json:"stderr"`
	Fixed  bool    `json:"fixed,omitempty"`
	// Posterior statistics, dream only.
	Mean   *float64    `json:"mean,omitempty"`
	Median *float64    `json:"median,omitempty"`
	Std    *float64    `json:"std,omitempty"`
	P68    *[2]float64 `json:"p68,omitempty"`
	P95    *[2]float64 `json:"p95,omitempty"`
	// Rhat is the rank-normalised split R-hat and ESS the bulk effective
	// sample size of the draws (Vehtari et al. 2021), dream only.
	Rhat *Float `json:"rhat,omitempty"`
	ESS  *Float `json:"ess,omitempty"`
}

// Float is a float64 that encodes NaN and ±Inf as JSON null, which plain
// encoding/json refuses; an undetermined uncertainty is not an error.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler; null becomes NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// fitDetail keeps the fitted problem for plots and files.
type fitDetail struct {
	p *problem
	x []float64 // best free parameters
	r []float64 // residuals at x
	// dream only: thinned post-burn-in samples (rows are draws over the
	// free parameters) and the log-posterior trace per generation and chain.
	samples [][]float64
	logp    [][]float64
}
