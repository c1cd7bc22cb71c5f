// Package series runs a fit series: one model fitted to each of several
// data files, each fit a child job of a parent job that is never claimed
// itself. It derives each child's spec from the shared one, starts a
// chained fit from the previous fit's best parameters, ends the parent
// when its children have all ended, and builds the parent's table, CSV
// and plots from the children's results.
//
// How a child gets its file:
//   - native specs (service "fit"): the spec must read exactly one
//     dataset from a file ({"file": ..., "columns": ...}); each child's
//     spec names its own file there instead;
//   - Bumps specs (service "bumps"): the data file name is appended to
//     the model's arguments ("args"), so the model script reads it as its
//     last command-line argument (sys.argv[-1]), as examples/peak/peak.py
//     does.
//
// Each child's input/ holds the shared files (every upload that is not a
// series file: the model script, its helpers) and its own data file.
package series

import (
	"encoding/json"
	"fmt"
	"math"
)

// CheckService refuses a service a series cannot use. Both that can
// may be chained: a native spec's parameters take the previous fit's
// values, a bumps spec gets them as its start (bumps --pars).
func CheckService(service string) error {
	if service != "fit" && service != "bumps" {
		return fmt.Errorf("series: service %q cannot run a series (accepted: fit, bumps)", service)
	}
	return nil
}

// ChildSpec is the spec of the child that fits file.
func ChildSpec(service string, spec json.RawMessage, file string) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(spec, &top); err != nil {
		return nil, fmt.Errorf("spec: must be a JSON object: %v", err)
	}
	switch service {
	case "fit":
		var sets []map[string]json.RawMessage
		if err := json.Unmarshal(top["datasets"], &sets); err != nil {
			return nil, fmt.Errorf("spec.datasets: %v", err)
		}
		at := -1
		for i, d := range sets {
			if _, ok := d["file"]; ok {
				if at >= 0 {
					return nil, fmt.Errorf("spec.datasets: datasets %d and %d both read a file; a series replaces the file of exactly one", at, i)
				}
				at = i
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("spec.datasets: no dataset reads a file (a series needs one dataset {\"file\": ..., \"columns\": [...]} whose file each fit replaces)")
		}
		sets[at]["file"], _ = json.Marshal(file)
		top["datasets"], _ = json.Marshal(sets)
	case "bumps":
		var args []string
		if raw, ok := top["args"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				return nil, fmt.Errorf("spec.args: %v", err)
			}
		}
		top["args"], _ = json.Marshal(append(args, file))
	default:
		return nil, CheckService(service)
	}
	return json.Marshal(top)
}

// Result is the part of a fit's results document a series reads (the
// same for native and Bumps fits).
type Result struct {
	Chisq        *float64             `json:"chisq"`
	ReducedChisq *float64             `json:"reduced_chisq"`
	Parameters   map[string]Parameter `json:"parameters"`
}

// Parameter is one fitted parameter of a Result.
type Parameter struct {
	Value  float64  `json:"value"`
	Stderr *float64 `json:"stderr"`
}

// ParseResult reads a child's results document.
func ParseResult(raw json.RawMessage) (*Result, error) {
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	return &r, nil
}

// ChainSpec is a child's spec started from the best values of an
// earlier fit. In a native spec each parameter the spec and the results
// share takes the fitted value as its start (fixed parameters keep
// theirs); a bumps spec gets every fitted value as its "start", which
// bumps loads over the model's own (--pars).
func ChainSpec(service string, spec json.RawMessage, prev *Result) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(spec, &top); err != nil {
		return nil, fmt.Errorf("spec: %v", err)
	}
	if service == "bumps" {
		start := map[string]float64{}
		for name, p := range prev.Parameters {
			if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
				start[name] = p.Value
			}
		}
		top["start"], _ = json.Marshal(start)
		return json.Marshal(top)
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(top["parameters"], &params); err != nil {
		return nil, fmt.Errorf("spec.parameters: %v", err)
	}
	for name, raw := range params {
		best, ok := prev.Parameters[name]
		if !ok || math.IsNaN(best.Value) || math.IsInf(best.Value, 0) {
			continue
		}
		var p map[string]json.RawMessage
		if json.Unmarshal(raw, &p) != nil {
			// A bare number is a start value too.
			params[name], _ = json.Marshal(best.Value)
			continue
		}
		var fixed bool
		if json.Unmarshal(p["fixed"], &fixed); fixed {
			continue
		}
		p["value"], _ = json.Marshal(best.Value)
		params[name], _ = json.Marshal(p)
	}
	top["parameters"], _ = json.Marshal(params)
	return json.Marshal(top)
}
