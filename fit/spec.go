// Package fit is bumpserve's native curve-fitting engine: it fits one or
// more datasets with math-expression models (package fit/expr) using
// Levenberg–Marquardt, Nelder–Mead, differential evolution or DREAM MCMC,
// and reports best-fit parameters with their uncertainties.
package fit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// Spec is a decoded fit job, as submitted with service "fit".
type Spec struct {
	// Fitter is one of lm, amoeba, de, dream; "" means lm.
	Fitter string
	// Options tune the fitter; zero fields take the fitter's default.
	Options FitOptions
	// ScaleErrors scales the covariance by the reduced chi-square, as lmfit
	// does by default; without it the dy are taken as true uncertainties.
	ScaleErrors bool
	// Parameters in the order the spec lists them.
	Parameters []Parameter
	// Datasets, each with its own model.
	Datasets []Dataset
	// Limits and Resources belong to the server; fit only carries them.
	Limits    json.RawMessage
	Resources json.RawMessage
}

// FitOptions are the "options" of a spec. Zero means the fitter's default.
type FitOptions struct {
	Steps   int   `json:"steps"`   // iterations (lm, amoeba) or generations (de)
	Seed    int64 `json:"seed"`    // seed of every random draw; 0: a random one, recorded
	CPUs    int   `json:"cpus"`    // mapper CPUs, capped by Options.CPUs
	Samples int   `json:"samples"` // dream: draws kept after burn-in
	Burn    int   `json:"burn"`    // dream: least burn-in generations
	Pop     int   `json:"pop"`     // de, dream: population per free parameter (dream: default 8 chains)
	Thin    int   `json:"thin"`    // dream: keep every thin-th generation
	Starts  int   `json:"starts"`  // amoeba: number of restarts from the best point
	// Init is how dream places its chains at first: "lm" (default: around
	// the least-squares optima), or as Bumps' --init "eps", "lhs", "cov"
	// or "random".
	Init string `json:"init"`
	// UntilConverged makes dream keep sampling past samples, up to
	// MaxSamples, until R-hat and ESS meet the convergence thresholds.
	UntilConverged bool `json:"until_converged"`
	MaxSamples     int  `json:"max_samples"` // default 10 × samples

	// noStart is set when a free parameter has no start value (its Value
	// is the mid-range default), so dream cannot centre its chains on it.
	noStart bool
}

// Parameter is one named fit parameter; the same name in several models is
// one parameter.
type Parameter struct {
	Name  string
	Value float64
	Min   float64 // -Inf when unbounded
	Max   float64 // +Inf when unbounded
	Fixed bool
	Prior *Prior // nil when none

	noStart bool // no value given; Value is mid-range
}

// Prior is a Gaussian prior; it adds ((p-Mean)/SD)^2 to the cost.
type Prior struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
}

// Dataset is one set of observations with its model. Data comes either
// inline (X, Y, DY, Vars) or from File; Run fills the arrays from the file.
type Dataset struct {
	Name    string               `json:"name"`
	Model   string               `json:"model"`
	X       []float64            `json:"x"`
	Y       []float64            `json:"y"`
	DY      []float64            `json:"dy"`
	Vars    map[string][]float64 `json:"vars"`
	File    string               `json:"file"`
	Columns []string             `json:"columns"`
	// Plot says how the dataset is drawn: axis labels, and "log" or
	// "linear" axes (by default an axis is logarithmic when its positive
	// values span more than two decades).
	Plot PlotStyle `json:"plot"`

	// varNames are the independent variables the model may use, x first.
	varNames []string
	prog     program
}

// PlotStyle is a dataset's "plot": how its data and fit are drawn.
type PlotStyle struct {
	XLabel string `json:"x_label"`
	YLabel string `json:"y_label"`
	XScale string `json:"x_scale"` // "", "linear" or "log"
	YScale string `json:"y_scale"`
}

// scales are the accepted axis scales; "" chooses from the data.
var scales = []string{"", "linear", "log"}

// The known fitters, in the order help texts list them.
var fitters = []string{"lm", "amoeba", "de", "dream"}

// ParseSpec decodes a spec strictly (unknown keys are errors that name
// their path) and validates it, including compiling every model. It does
// not read dataset files; Run does.
func ParseSpec(data []byte) (*Spec, error) {
	var raw struct {
		Fitter      string            `json:"fitter"`
		Options     json.RawMessage   `json:"options"`
		ScaleErrors bool              `json:"scale_errors"`
		Parameters  json.RawMessage   `json:"parameters"`
		Datasets    []json.RawMessage `json:"datasets"`
		Limits      json.RawMessage   `json:"limits"`
		Resources   json.RawMessage   `json:"resources"`
	}
	if err := decodeStrict(data, "spec", &raw); err != nil {
		return nil, err
	}
	s := &Spec{Fitter: raw.Fitter, ScaleErrors: raw.ScaleErrors, Limits: raw.Limits, Resources: raw.Resources}
	if len(raw.Options) > 0 {
		if err := decodeStrict(raw.Options, "options", &s.Options); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(dreamInits, s.Options.Init) && s.Options.Init != "" {
		return nil, fmt.Errorf("options.init: unknown initialisation %q; use one of %v", s.Options.Init, dreamInits)
	}
	var err error
	if s.Parameters, err = decodeParameters(raw.Parameters); err != nil {
		return nil, err
	}
	for _, p := range s.Parameters {
		s.Options.noStart = s.Options.noStart || (p.noStart && !p.Fixed)
	}
	for i, d := range raw.Datasets {
		ds, err := decodeDataset(d, fmt.Sprintf("datasets[%d]", i))
		if err != nil {
			return nil, err
		}
		s.Datasets = append(s.Datasets, ds)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeStrict decodes one JSON object, naming the path of the field at
// fault in every error (an unknown field lists the accepted ones).
func decodeStrict(data []byte, path string, v any) error {
	return strictjson.Decode(data, path, v)
}

// decodeParameters reads the "parameters" object keeping the spec's order,
// which becomes the order of results, .par files and plots.
func decodeParameters(data []byte) ([]Parameter, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, fmt.Errorf("parameters: missing; give at least one parameter")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("parameters: must be an object of name: {value, min, max, fixed, prior}")
	}
	var ps []Parameter
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("parameters: %w", err)
		}
		name := t.(string)
		path := "parameters." + name
		if seen[name] {
			return nil, fmt.Errorf("%s: given twice", path)
		}
		seen[name] = true
		var body json.RawMessage
		if err := dec.Decode(&body); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		p, err := decodeParameter(name, body, path)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func decodeParameter(name string, body []byte, path string) (Parameter, error) {
	var raw struct {
		Value *float64        `json:"value"`
		Min   *float64        `json:"min"`
		Max   *float64        `json:"max"`
		Fixed bool            `json:"fixed"`
		Prior json.RawMessage `json:"prior"`
	}
	if err := decodeStrict(body, path, &raw); err != nil {
		return Parameter{}, err
	}
	p := Parameter{Name: name, Min: math.Inf(-1), Max: math.Inf(1), Fixed: raw.Fixed}
	if raw.Min != nil {
		p.Min = *raw.Min
	}
	if raw.Max != nil {
		p.Max = *raw.Max
	}
	if p.Min > p.Max {
		return p, fmt.Errorf("%s: min %g is greater than max %g", path, p.Min, p.Max)
	}
	switch {
	case raw.Value != nil:
		p.Value = *raw.Value
	case raw.Min != nil && raw.Max != nil:
		// A bounded parameter without a start begins mid-range, which is
		// where population fitters centre their search anyway.
		p.Value = (p.Min + p.Max) / 2
		p.noStart = true
	default:
		return p, fmt.Errorf("%s: value is missing; give a start value (or both min and max)", path)
	}
	if p.Value < p.Min || p.Value > p.Max {
		return p, fmt.Errorf("%s: value %g is outside [min, max] = [%g, %g]", path, p.Value, p.Min, p.Max)
	}
	if len(raw.Prior) > 0 && string(raw.Prior) != "null" {
		var pr struct {
			Mean *float64 `json:"mean"`
			SD   *float64 `json:"sd"`
		}
		if err := decodeStrict(raw.Prior, path+".prior", &pr); err != nil {
			return p, err
		}
		if pr.Mean == nil || pr.SD == nil {
			return p, fmt.Errorf("%s.prior: needs both mean and sd", path)
		}
		if !(*pr.SD > 0) || math.IsInf(*pr.SD, 0) {
			return p, fmt.Errorf("%s.prior.sd: %g must be positive and finite", path, *pr.SD)
		}
		p.Prior = &Prior{Mean: *pr.Mean, SD: *pr.SD}
	}
	return p, nil
}

func decodeDataset(body []byte, path string) (Dataset, error) {
	var raw struct {
		Name    string                     `json:"name"`
		Model   string                     `json:"model"`
		X       json.RawMessage            `json:"x"`
		Y       json.RawMessage            `json:"y"`
		DY      json.RawMessage            `json:"dy"`
		Vars    map[string]json.RawMessage `json:"vars"`
		File    string                     `json:"file"`
		Columns []string                   `json:"columns"`
		Plot    json.RawMessage            `json:"plot"`
	}
	if err := decodeStrict(body, path, &raw); err != nil {
		return Dataset{}, err
	}
	d := Dataset{Name: raw.Name, Model: raw.Model, File: raw.File, Columns: raw.Columns}
	if len(raw.Plot) > 0 && string(raw.Plot) != "null" {
		if err := decodeStrict(raw.Plot, path+".plot", &d.Plot); err != nil {
			return d, err
		}
		for _, sc := range []struct{ key, v string }{{"x_scale", d.Plot.XScale}, {"y_scale", d.Plot.YScale}} {
			if !slices.Contains(scales, sc.v) {
				return d, fmt.Errorf("%s.plot.%s: %q is not a scale (accepted: linear, log)", path, sc.key, sc.v)
			}
		}
	}
	var err error
	if d.X, err = decodeColumn(raw.X, path+".x"); err != nil {
		return d, err
	}
	if d.Y, err = decodeColumn(raw.Y, path+".y"); err != nil {
		return d, err
	}
	if d.DY, err = decodeColumn(raw.DY, path+".dy"); err != nil {
		return d, err
	}
	if raw.Vars != nil {
		d.Vars = map[string][]float64{}
		for k, v := range raw.Vars {
			if d.Vars[k], err = decodeColumn(v, path+".vars."+k); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

// decodeColumn reads a JSON array of numbers in which null is an error
// rather than a silent zero.
func decodeColumn(data []byte, path string) ([]float64, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var vs []*float64
	if err := json.Unmarshal(data, &vs); err != nil {
		return nil, fmt.Errorf("%s: must be an array of numbers", path)
	}
	out := make([]float64, len(vs))
	for i, v := range vs {
		if v == nil {
			return nil, fmt.Errorf("%s[%d]: null is not a number", path, i)
		}
		out[i] = *v
	}
	return out, nil
}
