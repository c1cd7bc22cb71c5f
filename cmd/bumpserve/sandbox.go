package main

import (
	"context"
	"os"

	"github.com/bumpserve/bumpserve/internal/sandbox"
)

// runSandboxExec is the confining helper the executor re-executes for
// every job process: it restricts itself and then becomes the job, so
// it never returns.
func runSandboxExec(_ context.Context, args []string) error {
	os.Exit(sandbox.Main(args))
	return nil
}
