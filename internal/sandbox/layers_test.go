package sandbox_test

import (
	"testing"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The sandbox takes a Job of its own: it must not depend on the services
// whose processes it confines (package confine adapts one to the other).
func TestSandboxKnowsNothingOfServices(t *testing.T) {
	t.Parallel()
	testenv.ForbidImports(t, "github.com/bumpserve/bumpserve/internal/sandbox", true,
		"github.com/bumpserve/bumpserve/internal/service")
}
