package worker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The worker side knows only the client and the lease protocol: neither
// this package nor anything it imports reaches the store or the queue's
// internals, so `bumpserve worker` carries no database code.
func TestWorkerImportsNoStore(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/bumpserve/bumpserve/"
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == mod+"internal/queue/lease":
		case strings.HasPrefix(pkg, mod+"internal/store"), strings.HasPrefix(pkg, mod+"internal/queue"),
			strings.HasPrefix(pkg, mod+"internal/server"), strings.HasPrefix(pkg, mod+"internal/controller"):
			t.Errorf("package worker depends on %s", pkg)
		}
	}
}
