package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// errorText reads the message of a JSON error answer.
func errorText(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("answer %s is not a JSON error", body)
	}
	return e.Error
}

// A native fit's data files are read when it is submitted: each fault is
// a 400 naming file, line and column, whether the job comes as JSON or as
// multipart, and nothing refused is stored.
func TestDataFilesCheckedAtSubmit(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	const fitDoc = `{"service":"fit","spec":{"parameters":{"a":{"value":1},"b":{"value":0}},
		"datasets":[{"model":"a*x + b","file":"data.txt","columns":["x","y","dy"]}]}}`
	submit := func(doc string, files map[string]string) (int, []byte) {
		ctype, body := submissionParts(doc, files)
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, ctype, body)
		return code, b
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"not a number", map[string]string{"data.txt": "1 2 0.1\n2 abc 0.1\n"},
			`spec.datasets[0].file: data.txt line 2, column 2: "abc" is not a number`},
		{"ragged row", map[string]string{"data.txt": "1 2 0.1\n2 4 0.1 7\n"},
			`spec.datasets[0].file: data.txt line 2, column 4: "7" is one field too many; the line has 4 fields, but columns names 3 (x y dy)`},
		{"missing column", map[string]string{"data.txt": "# x y dy\n1 2 0.1\n2 4\n"},
			`spec.datasets[0].file: data.txt line 3, column 3: missing; the line has 2 fields, but columns names 3 (x y dy)`},
		{"empty file", map[string]string{"data.txt": ""},
			`spec.datasets[0].file: data.txt: no data lines; the file is empty`},
		{"not uploaded", map[string]string{"model.txt": "1 2 0.1\n"},
			`spec.datasets[0].file: data.txt was not uploaded; uploaded: model.txt`},
		{"no uploads", nil,
			`spec.datasets[0].file: data.txt was not uploaded; uploaded: none`},
	} {
		code, b := submit(fitDoc, tc.files)
		if got := errorText(t, b); code != 400 || got != tc.want {
			t.Errorf("%s: %d %q\n want 400 %q", tc.name, code, got, tc.want)
		}
	}
	// The same job as JSON, with no files at all.
	code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, "application/json", bytes.NewReader([]byte(fitDoc)))
	if got := errorText(t, b); code != 400 || got != `spec.datasets[0].file: data.txt was not uploaded; uploaded: none` {
		t.Errorf("JSON fit naming a file: %d %q", code, got)
	}
	cl := env.Client(env.AdminToken)
	list, err := cl.List(context.Background(), client.ListOptions{})
	if err != nil || len(list.Jobs) != 0 {
		t.Fatalf("refused submissions stored %d jobs (%v)", len(list.Jobs), err)
	}
	if ents, _ := os.ReadDir(filepath.Join(env.Data, "jobs")); len(ents) != 0 {
		t.Errorf("refused submissions left %d job directories", len(ents))
	}
	if code, b := submit(fitDoc, map[string]string{"data.txt": "# x y dy\n1 2 0.1\n2 4.1 0.1\n3 5.9 0.1\n"}); code != 201 {
		t.Errorf("a good data file: %d %s", code, b)
	}
}

// Unknown fields anywhere in a job or its spec are refused with their
// path and what is accepted there.
func TestUnknownFieldsNamePath(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	const params = `"parameters":{"a":{"value":1}}`
	const data = `"x":[1,2],"y":[1,2]`
	for _, tc := range []struct{ body, want string }{
		{`{"service":"sleep","colour":"red"}`,
			`job.colour: unknown field (accepted: name, service, spec, priority, notify, groups, series)`},
		{`{"service":"sleep","spec":{"resources":{"cpus":1,"bogus":2}}}`,
			`spec.resources.bogus: unknown field (accepted: cpus, tasks, nodes)`},
		{`{"service":"sleep","spec":{"limits":{"wall_seconds":5,"wall":5}}}`,
			`spec.limits.wall: unknown field (accepted: wall_seconds, cpu_seconds, memory_mb, processes, disk_mb)`},
		{`{"service":"sleep","spec":{"resources":{"cpus":"two"}}}`,
			`spec.resources.cpus: expected a whole number, got string`},
		{`{"service":"sleep","spec":{"secs":1}}`,
			`spec.secs: unknown field (accepted: seconds, fail, message, exec, files, limits, resources)`},
		{`{"service":"fit","spec":{"fiter":"lm",` + params + `,"datasets":[{"model":"a*x",` + data + `}]}}`,
			`spec.fiter: unknown field (accepted: fitter, options, scale_errors, parameters, datasets, limits, resources)`},
		{`{"service":"fit","spec":{` + params + `,"datasets":[{"model":"a*x",` + data + `}],"resources":{"cpus":1,"bogus":2}}}`,
			`spec.resources.bogus: unknown field (accepted: cpus, tasks, nodes)`},
		{`{"service":"fit","spec":{"parameters":{"a":{"value":1,"fixd":true}},"datasets":[{"model":"a*x",` + data + `}]}}`,
			`spec.parameters.a.fixd: unknown field (accepted: value, min, max, fixed, prior)`},
		{`{"service":"fit","spec":{` + params + `,"datasets":[{"model":"a*x",` + data + `,"sigma":[1,1]}]}}`,
			`spec.datasets[0].sigma: unknown field (accepted: name, model, x, y, dy, vars, file, columns, plot)`},
		{`{"service":"fit","spec":{` + params + `,"options":{"step":5},"datasets":[{"model":"a*x",` + data + `}]}}`,
			`spec.options.step: unknown field (accepted: steps, seed, cpus, samples,`},
		{`{"service":"bumps","spec":{"model":"m.py","fiter":"dream"}}`,
			`spec.fiter: unknown field (accepted: model, args, fitter, options, start, limits, resources)`},
		{`{"service":"bumps","spec":{"model":"m.py","options":{"sample":5}}}`,
			`spec.options.sample: unknown option (accepted: CR,`},
	} {
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, "application/json", bytes.NewReader([]byte(tc.body)))
		if got := errorText(t, b); code != 400 || len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("%s:\n got  %d %q\n want 400 %q", tc.body, code, got, tc.want)
		}
	}
}
