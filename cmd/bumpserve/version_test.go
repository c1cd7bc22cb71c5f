package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// version names the commit a build came from, though builds here run
// with -buildvcs=false: from the -X flags 'make build' passes, and says
// so when a build has none.
func TestVersionCommit(t *testing.T) {
	t.Parallel()
	const pkg = "github.com/bumpserve/bumpserve/internal/version"
	stamped := filepath.Join(t.TempDir(), "bumpserve")
	if out, err := exec.Command("go", "build", "-o", stamped, "-ldflags",
		"-X "+pkg+".Commit=0123456789abcdef0123 -X "+pkg+".Dirty=true", ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(stamped, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version, Commit, Go string
		Dirty               bool
	}
	decodeOne(t, "version", string(out), &v)
	if v.Commit != "0123456789abcdef0123" || !v.Dirty || !strings.HasSuffix(v.Version, "+0123456789ab.dirty") {
		t.Errorf("a stamped build's version --json: %s", out)
	}
	// The tests' own binary is built without -X: its commit is Go's
	// record if the toolchain made one, else "unknown", never left out.
	if out, _, _ := bs(t, nil, "version"); !commitLine.MatchString(out) {
		t.Errorf("version does not say which commit, or that it is unknown:\n%s", out)
	}
}

var commitLine = regexp.MustCompile(`(?m)^commit +([0-9a-f]{40}|unknown \(built without VCS information)`)
