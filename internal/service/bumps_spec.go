package service

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
)

// BumpsSpec is the bumps service's spec: a model script among the job's
// uploaded files, the model's own arguments, the fitter, and fitter
// options. Only the options given are passed to bumps, so a job and a
// hand run with the same command line give the same numbers.
type BumpsSpec struct {
	Model   string                     `json:"model"`
	Args    []string                   `json:"args"`
	Fitter  string                     `json:"fitter"`
	Options map[string]json.RawMessage `json:"options"`
	// Start, if given, is where the fit starts: parameter labels (as in
	// bumps' .par file) and values, loaded over the model's own values
	// as a .par file (bumps --pars; see startArgs). A chained series
	// gives each fit the one before it's best values this way.
	Start map[string]float64 `json:"start,omitempty"`
}

// maxStartLabel bounds a start label; labels are bumps' parameter names.
const maxStartLabel = 256

// bumpsFitters are the fitters of Debian's bumps 0.9.
var bumpsFitters = []string{"amoeba", "de", "dream", "lm", "newton", "pt", "scipy.leastsq"}

// bumpsOption describes one accepted option: its kind and its range.
// Options that would touch files, the store or the terminal (store,
// overwrite, resume, pars, batch, edit, remote, mpi, ...) are not here,
// so they cannot be given.
type bumpsOption struct {
	kind     string // "int", "number", "bool" or "enum"
	min, max float64
	values   []string // enum
	help     string
}

var bumpsOptions = map[string]bumpsOption{
	"samples":   {kind: "int", min: 1, max: 1e12, help: "dream: number of samples to draw"},
	"burn":      {kind: "int", min: 0, max: 1e9, help: "dream, pt: burn-in steps"},
	"steps":     {kind: "int", min: 0, max: 1e12, help: "fit iterations after burn-in"},
	"seed":      {kind: "int", min: 0, max: math.MaxUint32, help: "random seed"},
	"pop":       {kind: "number", min: -1e6, max: 1e6, help: "population size factor (negative: absolute size)"},
	"thin":      {kind: "int", min: 1, max: 1e9, help: "dream: iterations between kept steps"},
	"xtol":      {kind: "number", min: 0, max: 1e300, help: "de, amoeba: population diameter tolerance"},
	"ftol":      {kind: "number", min: 0, max: 1e300, help: "de, amoeba: population flatness tolerance"},
	"alpha":     {kind: "number", min: 0, max: 1, help: "dream: p-level for rejecting convergence"},
	"outliers":  {kind: "enum", values: []string{"none", "iqr", "grubbs", "mahal"}},
	"init":      {kind: "enum", values: []string{"eps", "lhs", "cov", "random"}},
	"CR":        {kind: "number", min: 0, max: 1, help: "de, pt: crossover ratio"},
	"starts":    {kind: "int", min: 1, max: 1e6, help: "newton, amoeba: random restarts"},
	"keep_best": {kind: "bool"},
	"nT":        {kind: "int", min: 1, max: 1e6, help: "pt: number of temperatures"},
	"Tmin":      {kind: "number", min: 0, max: 1e300, help: "pt: lowest temperature"},
	"Tmax":      {kind: "number", min: 0, max: 1e300, help: "pt: highest temperature"},
	"err":       {kind: "bool", help: "uncertainties from the curvature at the minimum (non-dream fitters)"},
	"parallel":  {kind: "int", min: 1, max: 4096, help: "CPUs for bumps' own mapper, at most resources.cpus"},
	// Not a bumps option of that name: bumpserve passes it as
	// --checkpoint=HOURS (see bumps_resume.go).
	"checkpoint_seconds": {kind: "number", min: 1, max: 1e9, help: "dream: seconds between saved states (default 60)"},
}

func bumpsOptionNames() string {
	names := make([]string, 0, len(bumpsOptions))
	for n := range bumpsOptions {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// parseBumps decodes and checks a spec; it returns the spec and the
// option values as bumps command-line text.
func parseBumps(raw json.RawMessage) (*BumpsSpec, map[string]string, error) {
	var s BumpsSpec
	if err := decodeStrict(raw, &s); err != nil {
		return nil, nil, err
	}
	if s.Model == "" {
		return nil, nil, fmt.Errorf("spec.model: missing (accepted: the name of an uploaded .py model script)")
	}
	if !filepath.IsLocal(s.Model) || !strings.HasSuffix(s.Model, ".py") {
		return nil, nil, fmt.Errorf("spec.model: %q is not an uploaded file's name ending in .py", s.Model)
	}
	for i, a := range s.Args {
		// bumps reads any word starting with '-' as its own option,
		// wherever it stands: an argument could otherwise smuggle in
		// --overwrite, --store or the crashing --help.
		if strings.HasPrefix(a, "-") || strings.ContainsRune(a, 0) || a == "" {
			return nil, nil, fmt.Errorf("spec.args[%d]: %q is not accepted (model arguments may not be empty or start with '-'; bumps would read them as its own options)", i, a)
		}
	}
	for label := range s.Start {
		// One .par line each, "label value": a label may hold spaces,
		// not line ends, and is never empty.
		if strings.TrimSpace(label) == "" || strings.ContainsAny(label, "\r\n\x00") || len(label) > maxStartLabel {
			return nil, nil, fmt.Errorf("spec.start: %.80q is not a parameter label (accepted: bumps' parameter names, up to %d characters on one line)", label, maxStartLabel)
		}
	}
	if s.Fitter != "" && !slices.Contains(bumpsFitters, s.Fitter) {
		return nil, nil, fmt.Errorf("spec.fitter: %q is not a bumps fitter (accepted: %s)", s.Fitter, strings.Join(bumpsFitters, ", "))
	}
	opts := map[string]string{}
	for name, v := range s.Options {
		o, ok := bumpsOptions[name]
		if !ok {
			return nil, nil, fmt.Errorf("spec.options.%s: unknown option (accepted: %s)", name, bumpsOptionNames())
		}
		text, err := o.format(v)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.options.%s: %v", name, err)
		}
		opts[name] = text
	}
	if _, ok := opts["checkpoint_seconds"]; ok && s.Fitter != "dream" {
		return nil, nil, fmt.Errorf("spec.options.checkpoint_seconds: only fitter dream saves its state in bumps 0.9 (fitter is %q)", cmp.Or(s.Fitter, "amoeba"))
	}
	if _, ok := opts["parallel"]; ok && job.Tasks(raw) > 1 {
		return nil, nil, fmt.Errorf("spec.options.parallel: not with resources.tasks %d (accepted: one or the other; "+
			"the MPI ranks are bumps' mapper)", job.Tasks(raw))
	}
	if p, ok := opts["parallel"]; ok {
		n, _ := strconv.Atoi(p)
		if cpus := specCPUs(raw); n > cpus {
			return nil, nil, fmt.Errorf("spec.options.parallel: %d exceeds the job's resources.cpus %d (accepted: 1 to %d)", n, cpus, cpus)
		}
	}
	return &s, opts, nil
}

// format checks one option's JSON value and renders it for the command line.
func (o bumpsOption) format(v json.RawMessage) (string, error) {
	switch o.kind {
	case "bool":
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return "", fmt.Errorf("%s is not true or false", v)
		}
		return strconv.FormatBool(b), nil
	case "enum":
		var s string
		if err := json.Unmarshal(v, &s); err != nil || !slices.Contains(o.values, s) {
			return "", fmt.Errorf("%s is not accepted (accepted: %s)", v, strings.Join(o.values, ", "))
		}
		return s, nil
	}
	var f float64
	dec := json.NewDecoder(bytes.NewReader(v))
	if err := dec.Decode(&f); err != nil || math.IsNaN(f) || f < o.min || f > o.max {
		return "", fmt.Errorf("%s is not a number from %g to %g", v, o.min, o.max)
	}
	if o.kind == "int" {
		if f != math.Trunc(f) {
			return "", fmt.Errorf("%s is not a whole number from %g to %g", v, o.min, o.max)
		}
		return strconv.FormatFloat(f, 'f', 0, 64), nil
	}
	return strconv.FormatFloat(f, 'g', -1, 64), nil
}

// specCPUs reads resources.cpus from a spec (1 when absent); the
// executor checks it against its own slots.
func specCPUs(raw json.RawMessage) int {
	var env struct {
		Resources struct {
			CPUs int `json:"cpus"`
		} `json:"resources"`
	}
	json.Unmarshal(raw, &env)
	return max(env.Resources.CPUs, 1)
}

// startName is the .par file of a spec's start values, in the job's temp
// dir.
const startName = "start.par"

// startArgs writes the spec's start values as a .par file for bumps to
// load over the model's own (--pars), one "label value" line each, in
// label order; none without start values.
func (r *bumpsRun) startArgs() ([]string, error) {
	if len(r.spec.Start) == 0 {
		return nil, nil
	}
	labels := slices.Sorted(maps.Keys(r.spec.Start))
	var par strings.Builder
	for _, l := range labels {
		fmt.Fprintf(&par, "%s %s\n", l, strconv.FormatFloat(r.spec.Start[l], 'g', -1, 64))
	}
	if err := r.env.PutTemp(startName, []byte(par.String())); err != nil {
		return nil, fmt.Errorf("bumps: write the start values: %w", err)
	}
	fmt.Fprintf(r.env.Log, "bumps: starting from the spec's start values (%d parameters, --pars)\n", len(labels))
	return []string{"--pars=" + filepath.Join(r.env.Temp, startName)}, nil
}
