package fit

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/bumpserve/bumpserve/fit/expr"
)

// Default options per fitter, close to Bumps' defaults.
const (
	defaultSteps      = 1000  // amoeba iterations per start
	defaultLMSteps    = 20000 // lm iterations; cheap, and MGH10 needs ~9000
	defaultDESteps    = 1000  // de generations
	defaultSamples    = 10000
	defaultBurn       = 100
	defaultPop        = 10
	defaultThin       = 1
	defaultStarts     = 3
	maxPopulationSize = 100000
)

// validate checks everything that does not need the dataset files and
// compiles the models of datasets whose columns are known.
func (s *Spec) validate() error {
	if s.Fitter == "" {
		s.Fitter = "lm"
	}
	if !slices.Contains(fitters, s.Fitter) {
		return fmt.Errorf("fitter: unknown fitter %q; use one of %v", s.Fitter, fitters)
	}
	o := s.Options
	for _, f := range []struct {
		name string
		v    int
	}{{"steps", o.Steps}, {"cpus", o.CPUs}, {"samples", o.Samples}, {"burn", o.Burn}, {"pop", o.Pop}, {"thin", o.Thin}, {"starts", o.Starts}, {"max_samples", o.MaxSamples}} {
		if f.v < 0 {
			return fmt.Errorf("options.%s: %d must not be negative", f.name, f.v)
		}
	}
	if err := validateCheckpointSeconds(o.CheckpointSeconds); err != nil {
		return err
	}
	if o.Pop > maxPopulationSize {
		return fmt.Errorf("options.pop: %d is larger than %d", o.Pop, maxPopulationSize)
	}
	if len(s.Parameters) == 0 {
		return fmt.Errorf("parameters: none given; a fit needs at least one")
	}
	for _, p := range s.Parameters {
		path := "parameters." + p.Name
		if !expr.ValidName(p.Name) {
			return fmt.Errorf("%s: %q is not a valid name (letters, digits and _, not starting with a digit)", path, p.Name)
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			return fmt.Errorf("%s: value %g is not finite", path, p.Value)
		}
	}
	if len(s.Datasets) == 0 {
		return fmt.Errorf("datasets: none given; a fit needs at least one dataset")
	}
	for i := range s.Datasets {
		d := &s.Datasets[i]
		path := fmt.Sprintf("datasets[%d]", i)
		if err := d.checkSource(path); err != nil {
			return err
		}
		if d.File == "" {
			if err := d.checkData(path); err != nil {
				return err
			}
		}
		if err := d.compile(path, s.paramNames()); err != nil {
			return err
		}
	}
	return s.checkUsage()
}

// paramNames lists the parameter names in spec order.
func (s *Spec) paramNames() []string {
	names := make([]string, len(s.Parameters))
	for i, p := range s.Parameters {
		names[i] = p.Name
	}
	return names
}

// checkUsage rejects a free parameter that no model uses: the fit could
// not determine it, and it would make the covariance singular.
func (s *Spec) checkUsage() error {
	free := 0
	for k, p := range s.Parameters {
		if p.Fixed {
			continue
		}
		free++
		used := p.Prior != nil
		for _, d := range s.Datasets {
			used = used || d.prog.UsesParam(k)
		}
		if !used {
			return fmt.Errorf("parameters.%s: not used by any dataset model; remove it or mark it fixed", p.Name)
		}
	}
	if free == 0 {
		return fmt.Errorf("parameters: all are fixed; nothing to fit")
	}
	return nil
}

// checkSource checks that a dataset has exactly one source of data and
// that a file's column names are sensible.
func (d *Dataset) checkSource(path string) error {
	if d.Model == "" {
		return fmt.Errorf("%s.model: missing; give the model expression", path)
	}
	inline := d.X != nil || d.Y != nil || d.DY != nil || d.Vars != nil
	if d.File == "" {
		if len(d.Columns) > 0 {
			return fmt.Errorf("%s.columns: given without a file", path)
		}
		return nil
	}
	if inline {
		return fmt.Errorf("%s.file: give either a file or inline x/y/dy/vars, not both", path)
	}
	if len(d.Columns) == 0 {
		d.Columns = []string{"x", "y", "dy"}
	}
	seen := map[string]bool{}
	for j, c := range d.Columns {
		if !expr.ValidName(c) {
			return fmt.Errorf("%s.columns[%d]: %q is not a valid column name", path, j, c)
		}
		if seen[c] {
			return fmt.Errorf("%s.columns[%d]: %q given twice", path, j, c)
		}
		seen[c] = true
	}
	if !seen["y"] {
		return fmt.Errorf("%s.columns: no \"y\" column in %q", path, d.Columns)
	}
	// Checked here rather than once the file is read, so that a
	// submission's check of the file (which keeps no data) sees it too.
	if !slices.ContainsFunc(d.Columns, func(c string) bool { return c != "y" && c != "dy" }) {
		return fmt.Errorf("%s.columns: no independent variable in %q; name x (or another variable) beside y", path, d.Columns)
	}
	return nil
}

// checkData validates loaded or inline arrays: lengths agree, values are
// finite, uncertainties positive.
func (d *Dataset) checkData(path string) error {
	if len(d.Y) == 0 {
		return fmt.Errorf("%s.y: empty; a dataset needs at least one observation", path)
	}
	ref, refName := d.Y, "y"
	if d.X != nil {
		ref, refName = d.X, "x"
	} else if len(d.Vars) == 0 {
		return fmt.Errorf("%s.x: missing; give x or vars", path)
	}
	cols := []struct {
		name string
		v    []float64
	}{{"x", d.X}, {"y", d.Y}, {"dy", d.DY}}
	for _, k := range sortedKeys(d.Vars) {
		if k == "x" || k == "y" || k == "dy" {
			return fmt.Errorf("%s.vars.%s: the name is reserved", path, k)
		}
		if !expr.ValidName(k) {
			return fmt.Errorf("%s.vars: %q is not a valid variable name", path, k)
		}
		cols = append(cols, struct {
			name string
			v    []float64
		}{"vars." + k, d.Vars[k]})
	}
	for _, c := range cols {
		if c.v == nil {
			continue
		}
		if len(c.v) != len(ref) {
			return fmt.Errorf("%s.%s: length %d does not match %s (length %d)", path, c.name, len(c.v), refName, len(ref))
		}
		for i, v := range c.v {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s.%s[%d]: %g is not a finite number", path, c.name, i, v)
			}
			if c.name == "dy" && v <= 0 {
				return fmt.Errorf("%s.dy[%d]: %g must be positive", path, i, v)
			}
		}
	}
	return nil
}

// modelVars lists the independent variables a model may name: x when the
// dataset has it, then the extra variables in sorted order.
func (d *Dataset) modelVars() []string {
	var names []string
	if d.File != "" {
		for _, c := range d.Columns {
			if c != "y" && c != "dy" {
				names = append(names, c)
			}
		}
		sort.Strings(names)
	} else {
		if d.X != nil {
			names = append(names, "x")
		}
		names = append(names, sortedKeys(d.Vars)...)
	}
	// x first reads naturally in logs; the rest keep sorted order.
	if i := slices.Index(names, "x"); i > 0 {
		names = append([]string{"x"}, slices.Delete(names, i, i+1)...)
	}
	return names
}

func sortedKeys(m map[string][]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
