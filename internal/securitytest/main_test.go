package securitytest

import (
	"os"
	"testing"

	"github.com/bumpserve/bumpserve/internal/sandbox"
)

// TestMain lets the test binary be the sandbox's helper, as bumpserve
// itself is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sandbox-exec" {
		os.Exit(sandbox.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}
