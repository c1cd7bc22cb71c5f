package version

import (
	"runtime"
	"strings"
	"testing"
)

// A test binary carries build information too: the module path is this
// module's, the Go version the running one's, and the version String's.
func TestGet(t *testing.T) {
	i := Get()
	if i.Go != runtime.Version() {
		t.Errorf("Go = %q, want %q", i.Go, runtime.Version())
	}
	if !strings.HasPrefix(i.Module, "github.com/bumpserve/bumpserve") {
		t.Errorf("Module = %q", i.Module)
	}
	if i.Version != String() {
		t.Errorf("Version = %q, String() = %q", i.Version, String())
	}
}
