package sandbox

import (
	"errors"
	"time"

	"github.com/bumpserve/bumpserve/internal/testenv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// nobody is the user the non-root tests run as.
const nobody = 65534

// TestAsNonRoot runs the hostile suite and the Bumps run again with the
// executor as an unprivileged user (nobody): then only Landlock, seccomp,
// no_new_privs, rlimits and the session confine the jobs. It re-runs
// this test binary, copied where nobody can run it.
func TestAsNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the other tests already run unprivileged")
	}
	t.Parallel()
	dir, err := os.MkdirTemp("", "sandbox-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "sandbox.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^(TestHostile|TestBumpsRunsConfined|TestRequire|TestExecutorCrash|TestMPIRanksConfined)$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir, "PATH=/usr/bin:/bin", "CI=" + os.Getenv("CI")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}, Pdeathsig: syscall.SIGKILL}
	var out []byte
	// Until the copy's write descriptor has left every child forked
	// meanwhile by parallel tests, exec fails with ETXTBSY.
	testenv.Eventually(t, 10*time.Second, "the copied test binary can be started", func() bool {
		c := *cmd
		out, err = c.CombinedOutput()
		return !errors.Is(err, syscall.ETXTBSY)
	})
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("the suite failed as nobody: %v", err)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
