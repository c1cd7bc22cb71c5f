package fit

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseSpecRejects(t *testing.T) {
	t.Parallel()
	const params = `"parameters": {"b1": {"value": 1}, "b2": {"value": 1}}`
	const data = `"x": [1, 2, 3, 4], "y": [1, 2, 3, 4]`
	for _, c := range []struct{ spec, want string }{
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "x": [1,2,3,4], "y": [1,2,3,4], "dy": [1,1,1]}]}`,
			"datasets[0].dy: length 3 does not match x (length 4)"},
		{`{"parameters": {"b1": {"value": 4, "min": 5, "max": 3}}, "datasets": [{"model": "b1*x", ` + data + `}]}`,
			"parameters.b1: min 5 is greater than max 3"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", ` + data + `}, {"model": "b1*x+b3", ` + data + `}]}`,
			`datasets[1].model: at column 6: unknown name "b3"`},
		{`{` + params + `, "datasets": []}`, "datasets: none given"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "x": [], "y": []}]}`, "datasets[0].y: empty"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "x": [1, 2], "y": [1]}]}`, "datasets[0].y: length 1 does not match x (length 2)"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "x": [1, null], "y": [1, 2]}]}`, "datasets[0].x[1]: null is not a number"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "x": [1, 2], "y": [1, 2], "dy": [1, 0]}]}`, "datasets[0].dy[1]: 0 must be positive"},
		{`{"fitter": "bfgs", ` + params + `, "datasets": [{"model": "b1*x+b2", ` + data + `}]}`, `fitter: unknown fitter "bfgs"`},
		{`{"options": {"stepz": 3}, ` + params + `, "datasets": [{"model": "b1*x+b2", ` + data + `}]}`, `options.stepz: unknown field (accepted: steps, seed,`},
		{`{"colour": 1, ` + params + `, "datasets": [{"model": "b1*x+b2", ` + data + `}]}`, `spec.colour: unknown field (accepted: fitter, options, scale_errors, parameters, datasets, limits, resources)`},
		{`{"parameters": {"b1": {"value": 1, "prior": {"mean": 0, "sd": 0}}}, "datasets": [{"model": "b1*x", ` + data + `}]}`, "parameters.b1.prior.sd: 0 must be positive"},
		{`{"parameters": {"b1": {"value": 1, "mni": 0}}, "datasets": [{"model": "b1*x", ` + data + `}]}`, `parameters.b1.mni: unknown field (accepted: value, min, max, fixed, prior)`},
		{`{"parameters": {"b1": {"value": 1, "prior": {"mean": 0, "sd": 1, "kind": "normal"}}}, "datasets": [{"model": "b1*x", ` + data + `}]}`, `parameters.b1.prior.kind: unknown field (accepted: mean, sd)`},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "weights": [1], ` + data + `}]}`, `datasets[0].weights: unknown field (accepted: name, model, x, y, dy, vars, file, columns, plot)`},
		{`{"options": {"steps": "many"}, ` + params + `, "datasets": [{"model": "b1*x+b2", ` + data + `}]}`, `options.steps: expected a whole number, got string`},
		{`{` + params + `, "datasets": [{"model": "b1*x", ` + data + `}]}`, "parameters.b2: not used by any dataset model"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "file": "d.txt", ` + data + `}]}`, "datasets[0].file: give either a file or inline"},
		{`{` + params + `, "datasets": [{"model": "b1*x+b2", "file": "d.txt", "columns": ["x", "dy"]}]}`, `datasets[0].columns: no "y" column`},
		{`{"options": {"pop": -1}, ` + params + `, "datasets": [{"model": "b1*x+b2", ` + data + `}]}`, "options.pop: -1 must not be negative"},
		{`{"parameters": {"b1": {"value": 7, "min": 0, "max": 5}}, "datasets": [{"model": "b1*x", ` + data + `}]}`, "parameters.b1: value 7 is outside"},
	} {
		_, err := ParseSpec([]byte(c.spec))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSpec(%s)\n error %v\n want   %q", c.spec, err, c.want)
		}
	}
}

func TestParseSpecAccepts(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(`{"fitter": "dream", "options": {"steps": 1000, "seed": 1, "cpus": 2, "samples": 10000, "burn": 100, "pop": 10, "thin": 1},
		"scale_errors": false, "limits": {"wall_seconds": 10}, "resources": {"cpus": 2},
		"parameters": {"b2": {"value": 1e-4, "fixed": false, "prior": {"mean": 0, "sd": 1}}, "b1": {"value": 500, "min": 0, "max": 1000}},
		"datasets": [{"model": "b1*(1-exp(-b2*x))", "x": [77.6, 114.9], "y": [10.07, 14.73], "dy": [0.1, 0.1]},
			{"name": "t", "model": "b1*t", "y": [1, 2], "vars": {"t": [1, 2]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.paramNames(); got[0] != "b2" || got[1] != "b1" {
		t.Errorf("parameter order %v, want the spec's [b2 b1]", got)
	}
	if s.Parameters[0].Prior == nil || s.Options.Pop != 10 || string(s.Resources) != `{"cpus": 2}` {
		t.Errorf("decoded %+v", s)
	}
}

func TestPlotStyle(t *testing.T) {
	t.Parallel()
	base := `{"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "x": [1, 2], "y": [1, 2], "plot": %s}]}`
	s, err := ParseSpec([]byte(fmt.Sprintf(base, `{"x_label": "q (1/Å)", "y_label": "R", "y_scale": "log"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Datasets[0].Plot; got != (PlotStyle{XLabel: "q (1/Å)", YLabel: "R", YScale: "log"}) {
		t.Errorf("plot %+v", got)
	}
	_, err = ParseSpec([]byte(fmt.Sprintf(base, `{"y_scale": "logarithmic"}`)))
	if want := `datasets[0].plot.y_scale: "logarithmic" is not a scale (accepted: linear, log)`; err == nil || err.Error() != want {
		t.Errorf("bad scale: %v, want %s", err, want)
	}
	if !logAxis("", []float64{1, 10, 1000}) || logAxis("", []float64{0, 10, 1000}) || logAxis("", []float64{1, 50}) || logAxis("linear", []float64{1, 1e6}) {
		t.Error("logAxis: a log axis only for positive data over more than two decades, unless the spec says")
	}
}
