package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// Mistakes in what is submitted are refused by the CLI with exit code 2
// and the server's words: file, line and column for a data file, the
// path of an unknown field. A Bumps model that reads a file not given is
// warned about before it is sent, and the job then fails saying so.
func TestSubmitErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "1")
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := write("spec.json", `{"parameters": {"a": {"value": 1}, "b": {"value": 0}},
		"datasets": [{"model": "a*x + b", "file": "data.txt", "columns": ["x", "y", "dy"]}]}`)
	bad := write("data.txt", "1 2 0.1\n2 abc 0.1\n3 6 0.1\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--service", "fit", "--spec-file", spec, bad},
			`spec.datasets[0].file: data.txt line 2, column 2: "abc" is not a number`},
		{[]string{"--service", "fit", "--spec-file", spec},
			`spec.datasets[0].file: data.txt was not uploaded; uploaded: none`},
		{[]string{write("job.json", `{"service": "sleep", "colour": "red"}`)},
			`job.colour: unknown field (accepted: name, service, spec, priority, notify, groups, series)`},
		{[]string{"--service", "sleep", "--spec", `{"resources": {"cpus": 1, "bogus": 2}}`},
			`spec.resources.bogus: unknown field (accepted: cpus, tasks, nodes)`},
		{[]string{"--service", "fit", "--spec", `{"parameters": {"a": {"value": 1, "fixd": true}}, "datasets": [{"model": "a*x", "x": [1, 2], "y": [1, 2]}]}`},
			`spec.parameters.a.fixd: unknown field (accepted: value, min, max, fixed, prior)`},
	} {
		out, errOut, code := bs(t, env, append([]string{"submit"}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("submit %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errOut, c.want)
		}
	}

	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil, "bumps: /usr/bin/bumps missing (apt-get install python3-bumps)")
	model := write("gpeak.py", `from bumps.names import *
import numpy as np
x, y, dy = np.loadtxt("gpeak.txt").T
M = Curve(lambda x, a: a*x, x, y, dy, a=1)
problem = FitProblem(M)
`)
	out, errOut, code := bs(t, env, "submit", "--service", "bumps", model, "--fit", "amoeba", "--seed", "1")
	warning := "warning: gpeak.py line 3 names gpeak.txt, which is not among the files given (gpeak.py)"
	if code != 0 || !strings.Contains(errOut, warning) {
		t.Fatalf("submit bumps: exit %d, stderr %q; want exit 0 and %q", code, errOut, warning)
	}
	id := strings.TrimSpace(out)
	_, errOut, code = bs(t, env, "wait", id, "--quiet")
	if want := "model opened gpeak.txt, which was not uploaded; uploaded: gpeak.py"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("wait: exit %d, stderr %q; want exit 1 and %q", code, errOut, want)
	}
	if strings.Contains(errOut, srv.Data) {
		t.Errorf("the reason names the server's data directory: %s", errOut)
	}
	// Given the file, there is no warning.
	write("gpeak.txt", "1 1 0.1\n2 2 0.1\n3 3.1 0.1\n")
	_, errOut, code = bs(t, env, "submit", "--service", "bumps", model, filepath.Join(dir, "gpeak.txt"), "--fit", "amoeba")
	if code != 0 || strings.Contains(errOut, "warning") {
		t.Errorf("submit bumps with its data: exit %d, stderr %q", code, errOut)
	}
}
