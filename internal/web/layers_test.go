package web_test

import (
	"testing"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The pages reach jobs and users through the server and the queue, as
// the API does, so the two faces agree on who sees what: package web
// never imports the store (it may through the server, which owns it).
func TestPagesSpeakThroughTheServer(t *testing.T) {
	t.Parallel()
	testenv.ForbidImports(t, "github.com/bumpserve/bumpserve/internal/web", false,
		"github.com/bumpserve/bumpserve/internal/store", "github.com/bumpserve/bumpserve/internal/store/sqlite")
}
