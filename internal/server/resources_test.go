package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// resources.tasks and resources.nodes are checked at submission: whole
// positive numbers, tasks × cpus within the widest job the server takes,
// one node, several tasks only for bumps jobs (their MPI ranks) and not
// with bumps' own --parallel. A bumps job of two tasks occupies 2 CPUs.
func TestResourcesTasksAndNodes(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	const model = "from bumps.names import *\n"
	bumps := func(resources string, extra string) string {
		return `{"service":"bumps","spec":{"model":"m.py"` + extra + `,"resources":` + resources + `}}`
	}
	const params = `"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","x":[1,2],"y":[1,2]}]`
	for _, tc := range []struct{ doc, want string }{
		{bumps(`{"tasks":-1}`, ""), `spec.resources.tasks: -1 is not between 1 and 64 (MPI ranks of a bumps job)`},
		{bumps(`{"tasks":65}`, ""), `spec.resources.tasks: 65 is not between 1 and 64 (MPI ranks of a bumps job)`},
		{bumps(`{"tasks":40,"cpus":2}`, ""), `spec.resources.tasks: 40 tasks of 2 CPUs each are 80 CPUs, more than the 64 a job may occupy on this server`},
		{bumps(`{"tasks":1.5}`, ""), `spec.resources.tasks: expected a whole number`},
		{bumps(`{"tasks":"two"}`, ""), `spec.resources.tasks: expected a whole number, got string`},
		{bumps(`{"tasks":2,"nodes":2}`, ""), `spec.resources.nodes: 2 is not accepted (accepted: 1; a job's MPI ranks share one node`},
		{bumps(`{"nodes":-1}`, ""), `spec.resources.nodes: -1 is not accepted (accepted: 1;`},
		{bumps(`{"tasks":2}`, `,"options":{"parallel":2}`), `spec.options.parallel: not with resources.tasks 2 (accepted: one or the other;`},
		{`{"service":"fit","spec":{` + params + `,"resources":{"tasks":2}}}`,
			`spec.resources.tasks: 2 is not accepted for fit jobs, which run as one process (accepted: 1; only bumps jobs run several tasks`},
		{`{"service":"sleep","spec":{"resources":{"tasks":3}}}`, `spec.resources.tasks: 3 is not accepted for sleep jobs`},
	} {
		ctype, body := submissionParts(tc.doc, map[string]string{"m.py": model})
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, ctype, body)
		if got := errorText(t, b); code != 400 || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s:\n got  %d %q\n want 400 %q...", tc.doc, code, got, tc.want)
		}
	}
	for _, tc := range []struct {
		doc  string
		cpus int
	}{
		{bumps(`{"tasks":2}`, ""), 2},
		{bumps(`{"tasks":2,"cpus":3,"nodes":1}`, ""), 6},
		{`{"service":"fit","spec":{` + params + `,"resources":{"tasks":1,"cpus":2}}}`, 2},
	} {
		ctype, body := submissionParts(tc.doc, map[string]string{"m.py": model})
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, ctype, body)
		var j struct{ CPUs int }
		if code != 201 || json.Unmarshal(b, &j) != nil || j.CPUs != tc.cpus {
			t.Errorf("%s: %d %s; want 201 with cpus %d", tc.doc, code, b, tc.cpus)
		}
	}
}
