package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// ForbidImports fails t if package pkg imports one of forbidden: directly
// only, or, with deps set, through any chain of imports (which the failure
// shows, so the import to cut is plain). Test files do not count: this
// keeps a layer to its own words, not its tests' set-up. Imports are those
// `go list` resolves for this machine's build, so build tags are honoured.
func ForbidImports(t testing.TB, pkg string, deps bool, forbidden ...string) {
	t.Helper()
	args := []string{"list", "-f", `{{.ImportPath}} {{join .Imports " "}}`}
	if deps {
		args = append(args, "-deps")
	}
	out, err := exec.Command("go", append(args, pkg)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list %s: %v", pkg, err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			imports[fields[0]] = fields[1:]
		}
	}
	// Breadth first from pkg, remembering how each package was reached.
	from := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if _, seen := from[q]; seen {
				continue
			}
			from[q] = p
			if deps {
				queue = append(queue, q)
			}
		}
	}
	for _, f := range forbidden {
		if _, ok := from[f]; !ok {
			continue
		}
		chain := []string{f}
		for p := from[f]; p != ""; p = from[p] {
			chain = append([]string{p}, chain...)
		}
		t.Errorf("%s must not import %s, but does: %s", pkg, f, strings.Join(chain, " -> "))
	}
}
