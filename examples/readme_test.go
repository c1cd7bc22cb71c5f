package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/examples"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// readmeUIDs is the job user range of the server the README test starts
// (each test server on a host needs its own).
const readmeUIDs = "67650-67699"

func TestShellBlocks(t *testing.T) {
	t.Parallel()
	md := "text\n```sh\necho a\n```\n\n" + examples.NoTest + "\n\n```sh\nmake test\n```\n" +
		"```json\n{\"a\": 1}\n```\n```console\n$ echo no\n```\n" + examples.NoTest + "\nthen words\n```sh\necho b\n```\n"
	bs, err := examples.ShellBlocks(strings.NewReader(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []examples.Block{
		{Line: 2, Text: "echo a\n"},
		{Line: 8, Text: "make test\n", Skip: true},
		{Line: 19, Text: "echo b\n"},
	}
	if fmt.Sprint(bs) != fmt.Sprint(want) {
		t.Fatalf("blocks:\n got %v\nwant %v", bs, want)
	}
}

// TestReadme runs every ```sh block of the README, as written, in order, in
// one shell, in a fresh copy of the checkout (links to its files, no var/
// and no bin/): the first block starts the server in the background, the
// others then run against it. Only two things are changed, and only so
// tests can share a host: the port 8080 becomes a free one, and the server
// gets a --sandbox-uids range of its own.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server, Bumps fits and go builds")
	}
	for _, need := range []string{"/usr/bin/bumps", "/usr/bin/curl", "/usr/bin/python3"} {
		_, err := os.Stat(need)
		testenv.Need(t, err == nil, need+" is not installed (scripts/install-deps installs it)")
	}
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := examples.ShellBlocks(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 5 || !strings.Contains(blocks[0].Text, "bumpserve serve") {
		t.Fatalf("the README's first command block should start the server; blocks: %v", blocks)
	}
	port := freePort(t)
	subst := strings.NewReplacer("127.0.0.1:8080", "127.0.0.1:"+port)
	work := checkoutCopy(t)
	env := cleanEnv()

	serve := subst.Replace(strings.TrimSpace(blocks[0].Text)) + " --sandbox-uids " + readmeUIDs
	srv := startGroup(t, work, env, serve)
	m := srv.waitFor(t, regexp.MustCompile(`msg="ready at (http://\S+), admin token in (\S+)"`), 5*time.Minute)
	if m[1] != "http://127.0.0.1:"+port || m[2] != "var/admin.token" {
		t.Fatalf("ready line names %s and %s, want http://127.0.0.1:%s and var/admin.token", m[1], m[2], port)
	}
	if i, j := strings.Index(srv.output(), `msg="starting:`), strings.Index(srv.output(), "ready at"); i < 0 || i > j {
		t.Fatalf("the server did not say what it was doing before it was ready:\n%s", srv.output())
	}

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	ran := 0
	for _, b := range blocks[1:] {
		if b.Skip {
			t.Logf("README line %d: skipped (%s)", b.Line, examples.NoTest)
			continue
		}
		fmt.Fprintf(&script, "echo '>>> README line %d' >&2\n%s", b.Line, subst.Replace(b.Text))
		ran++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir, cmd.Env = work, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README commands failed (%v); the last '>>>' names the block:\n%s", err, tail(out, 6000))
	}
	t.Logf("ran %d README blocks", ran)

	// What the walk-through left behind is what it promised.
	logs, _ := filepath.Glob(filepath.Join(work, "job-*", "output", "job.log"))
	if len(logs) != 1 {
		t.Fatalf("download left job logs %v, want one", logs)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline (err %v): %q", logs[0], err, tail(b, 200))
	}
	for _, p := range []string{"fit.svg", "twosets.json", "alice.txt"} {
		if st, err := os.Stat(filepath.Join(work, p)); err != nil || st.Size() == 0 {
			t.Errorf("the walk-through should have written %s: %v", p, err)
		}
	}
}

// checkoutCopy makes a directory that looks like a fresh checkout: a link
// to each top-level entry of the repository but var/, bin/ and .git.
func checkoutCopy(t *testing.T) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// Job users must reach their job directories under var/.
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch e.Name() {
		case "var", "bin", ".git":
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return work
}

// cleanEnv is the test's environment without BUMPSERVE_ settings, with
// Debian's system directories first on PATH (the README is for Debian,
// whose python3 has bumps and venv) and the go that runs this test.
func cleanEnv() []string {
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin")
	if p, err := exec.LookPath("go"); err == nil {
		goBin = filepath.Dir(p)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + goBin}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BUMPSERVE_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// group is a shell command run in a process group of its own, so `go run`
// and the server it starts stop together.
type group struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	ended chan struct{}
}

func (g *group) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.Write(p)
}

func (g *group) output() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.String()
}

func startGroup(t *testing.T, dir string, env []string, line string) *group {
	g := &group{cmd: exec.Command("bash", "-c", line), ended: make(chan struct{})}
	g.cmd.Dir, g.cmd.Env = dir, env
	g.cmd.Stdout, g.cmd.Stderr = g, g
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.cmd.Wait(); close(g.ended) }()
	t.Cleanup(func() {
		// SIGTERM lets the server drain and remove its cgroups.
		syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-g.ended:
		case <-time.After(time.Minute):
			syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
			<-g.ended
		}
		if t.Failed() {
			t.Logf("server output:\n%s", tail([]byte(g.output()), 6000))
		}
	})
	return g
}

func (g *group) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := re.FindStringSubmatch(g.output()); m != nil {
			return m
		}
		select {
		case <-g.ended:
			t.Fatalf("the server exited before it logged %q:\n%s", re, g.output())
		case <-deadline:
			t.Fatalf("not within %v: the server logged %q", timeout, re)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
