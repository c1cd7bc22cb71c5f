package client_test

import (
	"testing"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The client runs on users' and workers' machines: it speaks the API and
// shares the archive format, but never reaches into the server's job
// directories (internal/archive is the part both sides use).
func TestClientStaysOutOfTheServersJobDirectories(t *testing.T) {
	t.Parallel()
	testenv.ForbidImports(t, "github.com/bumpserve/bumpserve/client", true,
		"github.com/bumpserve/bumpserve/internal/jobdir")
}
