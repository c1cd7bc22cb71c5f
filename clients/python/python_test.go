// Package python_test runs the Python client's own tests (unittest, in
// tests/) against a real controller: real HTTP and HTTPS, real SQLite,
// real Bumps jobs in the real sandbox. Go starts the server because it
// knows how; Python checks what a Python user sees.
package python_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// sandboxUIDs is this package's own range of job user ids: a sandbox
// sweeps its range's processes and cgroups, and go test runs packages
// at the same time (internal/sandbox uses 61000-64009, cmd/bumpserve
// 100050 and up).
var sandboxUIDs = [2]int{66000, 66049}

const (
	python = "/usr/bin/python3" // Debian's, the one python3-bumps serves
	bumps  = "/usr/bin/bumps"
)

// TestMain makes the test binary the sandbox's confining helper, as the
// bumpserve binary is in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sandbox-exec" {
		os.Exit(sandbox.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func TestPythonClient(t *testing.T) {
	needTools(t)
	sb, err := sandbox.New(sandbox.Config{UIDs: sandboxUIDs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	env := testenv.Start(t, controller.Config{Workers: 2, Runner: confine.New(sb), Server: server.Config{Anonymous: true}})
	caFile, certFile, keyFile := testenv.WriteCA(t)
	tlsURL := serveTLS(t, env.C.Handler, certFile, keyFile)

	models, err := filepath.Abs("../../internal/service/testdata/bumps")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-m", "unittest", "discover", "-v", "-s", "tests", "-t", ".")
	cmd.Env = append(cleanEnv(),
		"BUMPSERVE_SERVER="+env.URL,
		"BUMPSERVE_TOKEN="+env.User("alice", store.RoleUser),
		"BUMPSERVE_TEST_OTHER_TOKEN="+env.User("bob", store.RoleUser),
		// Only admins make groups; the tests make one to share jobs with.
		"BUMPSERVE_TEST_ADMIN_TOKEN="+env.AdminToken,
		"BUMPSERVE_TEST_TLS_SERVER="+tlsURL,
		"BUMPSERVE_TEST_CA="+caFile,
		"BUMPSERVE_TEST_MODELS="+models,
		"BUMPSERVE_TEST_BUMPS="+bumps,
		"BUMPSERVE_TEST_PYTHON="+python,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests failed (%v):\n%s", err, out)
	}
	// Every Python test needs this server; none may quietly skip.
	if strings.Contains(string(out), "skipped") {
		t.Fatalf("python tests skipped some:\n%s", out)
	}
	t.Logf("python tests:\n%s", out)
}

// needTools checks for Debian's python3 with bumps, venv and setuptools:
// skipped locally, failed in CI.
func needTools(t *testing.T) {
	_, err := os.Stat(bumps)
	testenv.Need(t, err == nil, bumps+" is missing (apt-get install python3-bumps)")
	err = exec.Command(python, "-c", "import ensurepip, setuptools, wheel").Run()
	testenv.Need(t, err == nil, "python3 cannot build and install packages (apt-get install python3-venv python3-setuptools python3-wheel python3-pip)")
}

// cleanEnv is the test's environment without settings that would steer
// the Python client elsewhere (another server, token or CA, a proxy).
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BUMPSERVE_") || strings.HasSuffix(strings.ToLower(name), "_proxy") ||
			strings.HasPrefix(name, "PYTHON") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// serveTLS serves h over HTTPS with the given certificate on a loopback
// port until the test ends, and returns its URL.
func serveTLS(t *testing.T, h http.Handler, certFile, keyFile string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, certFile, keyFile) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("https server: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}
