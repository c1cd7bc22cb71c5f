package fit

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/fit/expr"
)

// FuzzParseSpec holds the spec decoder to its contract on any bytes a
// user may submit: no panic, exactly one of spec and error, and a spec it
// accepts is one the engine can run (a known fitter, unique valid
// parameter names, compiled models, consistent finite data). Small
// accepted specs are also run under a short deadline, so a spec that
// passes the decoder cannot crash a fitter either.
//
// In CI only the seeds run (as plain tests). To search for longer (a
// short minimization: the default 60s stalls these slow targets):
//
//	go test ./fit -run '^$' -fuzz '^FuzzParseSpec$' -fuzztime 10m -fuzzminimizetime 10s
func FuzzParseSpec(f *testing.F) {
	const data = `"x": [1, 2, 3, 4], "y": [1.1, 1.9, 3.2, 3.9], "dy": [0.1, 0.1, 0.1, 0.1]`
	for _, s := range []string{
		// The design's example, and each fitter.
		`{"fitter": "lm", "options": {"steps": 1000, "seed": 1}, "scale_errors": false,
		  "parameters": {"b1": {"value": 500, "min": 0, "max": 1000}, "b2": {"value": 1e-4, "fixed": false}},
		  "datasets": [{"model": "b1*(1-exp(-b2*x))", "x": [77.6, 114.9], "y": [10.07, 14.73], "dy": [0.1, 0.1]}]}`,
		`{"fitter": "amoeba", "options": {"steps": 50, "starts": 2}, "parameters": {"a": {"value": 1}, "b": {"value": 0}}, "datasets": [{"model": "a*x+b", ` + data + `}]}`,
		`{"fitter": "de", "options": {"steps": 5, "pop": 3, "seed": 2}, "parameters": {"a": {"min": 0, "max": 2}, "b": {"min": -1, "max": 1}}, "datasets": [{"model": "a*x+b", ` + data + `}]}`,
		`{"fitter": "dream", "options": {"samples": 200, "burn": 5, "thin": 2, "seed": 3}, "parameters": {"a": {"value": 1, "min": 0, "max": 2}, "b": {"value": 0, "min": -1, "max": 1}}, "datasets": [{"model": "a*x+b", ` + data + `}]}`,
		// Shared parameters, vars, priors, fixed, a file dataset.
		`{"parameters": {"a": {"value": 1}, "k": {"value": 0.5, "prior": {"mean": 0.5, "sd": 0.1}}, "c": {"value": 3, "fixed": true}},
		  "datasets": [{"name": "one", "model": "a*exp(-k*x)+c", ` + data + `},
		               {"model": "a*t^2 + k*T", "vars": {"t": [1, 2, 3], "T": [4, 5, 6]}, "y": [1, 2, 3]}]}`,
		`{"scale_errors": true, "parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "file": "data.txt", "columns": ["x", "y", "dy"]}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "x": [1, 2], "y": [1, 2]}], "limits": {"wall_seconds": 5}, "resources": {"cpus": 2}}`,
		// Refusals.
		`{}`, `[]`, `null`, ``, `{"parameters": {}}`, `{"parameters": []}`, `{"parameters": {"a": 1}}`,
		`{"parameters": {"a": {"value": 1}, "a": {"value": 2}}, "datasets": [{"model": "a*x", "x": [1], "y": [1]}]}`,
		`{"parameters": {"1a": {"value": 1}}, "datasets": [{"model": "x", "x": [1], "y": [1]}]}`,
		`{"parameters": {"a": {"value": 1e999}}, "datasets": [{"model": "a*x", "x": [1], "y": [1]}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "x": [1, null], "y": [1, 2]}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "x": [1], "y": [1], "dy": [-1]}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "vars": {"x": [1]}, "y": [1]}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "file": "/etc/passwd"}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "file": "d", "columns": ["x", "x", "y"]}]}`,
		`{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*(x", "x": [1], "y": [1]}]}`,
		`{"options": {"pop": 999999999}, "parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "x": [1], "y": [1]}]}`,
		`{"options": {"steps": -1}}`, `{"fitter": "newton"}`, `{"parameters": {"a": {"value": 1}}} trailing`,
		`{"parameters": {"a": {"value": 1, "prior": {"mean": 0, "sd": 1e999}}}, "datasets": [{"model": "a", "x": [1], "y": [1]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			if s != nil || err.Error() == "" {
				t.Fatalf("ParseSpec gave spec %v with error %q", s, err)
			}
			return
		}
		if s == nil {
			t.Fatal("ParseSpec gave neither spec nor error")
		}
		checkAccepted(t, s)
		runBriefly(t, s)
	})
}

// checkAccepted asserts what the engine relies on in an accepted spec.
func checkAccepted(t *testing.T, s *Spec) {
	t.Helper()
	if !slices.Contains(fitters, s.Fitter) {
		t.Fatalf("accepted the fitter %q", s.Fitter)
	}
	if len(s.Parameters) == 0 || len(s.Datasets) == 0 {
		t.Fatalf("accepted %d parameters and %d datasets", len(s.Parameters), len(s.Datasets))
	}
	seen := map[string]bool{}
	for _, p := range s.Parameters {
		if !expr.ValidName(p.Name) || seen[p.Name] {
			t.Fatalf("accepted the parameter name %q (or twice)", p.Name)
		}
		seen[p.Name] = true
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Value < p.Min || p.Value > p.Max {
			t.Fatalf("accepted parameter %s = %g outside [%g, %g]", p.Name, p.Value, p.Min, p.Max)
		}
		if p.Prior != nil && !(p.Prior.SD > 0 && !math.IsInf(p.Prior.SD, 0)) {
			t.Fatalf("accepted prior sd %g", p.Prior.SD)
		}
	}
	for i, d := range s.Datasets {
		if d.prog == nil {
			t.Fatalf("datasets[%d] accepted without a compiled model", i)
		}
		if d.File != "" {
			continue
		}
		if err := d.checkData("again"); err != nil {
			t.Fatalf("datasets[%d] accepted, but its data fails the check: %v", i, err)
		}
	}
}

// runBriefly runs small accepted inline specs under a deadline: no fitter
// may panic on what the decoder lets through, and every one must stop
// soon after its context ends.
func runBriefly(t *testing.T, s *Spec) {
	t.Helper()
	points := 0
	for _, d := range s.Datasets {
		if d.File != "" {
			return // there is no file here; FuzzDataFile covers loading
		}
		points += len(d.Y)
	}
	if points > 200 || len(s.Parameters) > 10 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, s, Options{InputDir: t.TempDir(), CPUs: 1})
	}()
	// A fit that ignores its context would hang the fuzzer (and, in the
	// service, a job nobody can cancel): fail with the spec instead.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("fitter %s still running 5s after its 100ms deadline", s.Fitter)
	}
}
