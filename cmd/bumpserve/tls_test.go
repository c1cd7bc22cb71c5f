package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The controller serves HTTPS; a worker trusting the private CA runs its
// jobs, one that does not refuses to talk to it.
func TestHTTPSWorker(t *testing.T) {
	t.Parallel()
	caFile, certFile, keyFile := testenv.WriteCA(t)
	srv := startServer(t, t.TempDir(), "--workers", "0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("server URL %s", srv.URL)
	}
	tok := workerToken(t, srv.Data, "farm")
	untrusting := startWorker(t, srv.URL, tok, "untrusting", 1)
	testenv.Eventually(t, 10*time.Second, "the untrusting worker refuses the certificate", func() bool {
		return strings.Contains(untrusting.Log(), "certificate")
	})
	untrusting.Cmd.Process.Kill()

	w := startWorkerArgs(t, srv.URL, tok, "trusting", 1, "--ca-file", caFile)
	cl, err := client.New(srv.URL, srv.adminToken(), client.Options{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	ids := submitSleeps(t, cl, 2, `{"seconds":0}`)
	for _, j := range waitAll(t, cl, ids, 30*time.Second) {
		if j.State != "COMPLETE" || j.Worker != "trusting" {
			t.Errorf("job %d: %s on %s", j.ID, j.State, j.Worker)
		}
	}
	// SIGTERM drains: the worker lets its running job finish, then exits.
	long := submitSleeps(t, cl, 1, `{"seconds":1}`)
	// Running on the worker, not only leased to it: a claim whose answer
	// is still on its way when SIGTERM comes is handed back instead.
	testenv.Eventually(t, 10*time.Second, "running on the worker", func() bool {
		return strings.Contains(w.Log(), fmt.Sprintf(`msg="job started" worker=trusting component=worker worker=trusting job=%d `, long[0]))
	})
	w.Cmd.Process.Signal(syscall.SIGTERM)
	<-w.Ended
	if code := w.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("worker exit code %d after SIGTERM:\n%s", code, w.Log())
	}
	if j, _ := cl.Get(context.Background(), long[0]); j.State != "COMPLETE" {
		t.Errorf("job running at SIGTERM ended %s", j.State)
	}
}
