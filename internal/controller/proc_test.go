package controller_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// startRecorded starts a long sleep under proc.Run in the background, as
// a job would, and returns its pid once it is recorded in pidFile.
func startRecorded(t *testing.T, pidFile string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); proc.Run(ctx, exec.Command("sleep", "300"), pidFile) }()
	t.Cleanup(func() { cancel(); <-done })
	var rec proc.Record
	testenv.Eventually(t, 5*time.Second, "process recorded", func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && json.Unmarshal(b, &rec) == nil && rec.PID > 0
	})
	return rec.PID
}
