package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guide is the deployment guide whose commands TestDeployGuide runs.
const guide = "../docs/deploy.md"

// noTest marks the code block after it as one the test must not run
// (it changes the system: packages, users, systemd).
const noTest = "<!-- no-test -->"

// block is one ```sh block of the guide.
type block struct {
	line int // of its opening fence
	text string
}

// shellBlocks returns the guide's sh blocks that are not marked noTest,
// and how many were marked.
func shellBlocks(t *testing.T, markdown string) (run []block, skipped int) {
	t.Helper()
	lines := strings.Split(markdown, "\n")
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") || fence == "```" {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: unclosed code block", guide, start+1)
		}
		if fence != "```sh" {
			continue // configuration examples, not commands
		}
		prev := ""
		for j := start - 1; j >= 0 && prev == ""; j-- {
			prev = strings.TrimSpace(lines[j])
		}
		if prev == noTest {
			skipped++
			continue
		}
		run = append(run, block{start + 1, strings.Join(body, "\n")})
	}
	return run, skipped
}

// TestDeployGuide runs every command of docs/deploy.md that can run on a
// machine without systemd, in order, in one shell, as root would on a
// fresh host: /etc/bumpserve and /var/lib/bumpserve point into a temp
// dir, the port is a free one, the sandbox uid range this package's, and
// the shipped deploy/ files (read by the commands) get the same changes.
func TestDeployGuide(t *testing.T) {
	md, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	blocks, skipped := shellBlocks(t, string(md))
	if len(blocks) < 8 || skipped < 5 {
		t.Fatalf("the guide has %d blocks to run and %d marked %s: the parser is lost", len(blocks), skipped, noTest)
	}
	root := t.TempDir()
	paths := strings.NewReplacer(
		"/etc/bumpserve", filepath.Join(root, "etc/bumpserve"),
		"/var/lib/bumpserve", filepath.Join(root, "var/lib/bumpserve"),
		"127.0.0.1:8080", freePort(t),
		"61000-61999", uids)

	// The repository as the commands see it: deploy/, with the same paths.
	repo := filepath.Join(root, "repo")
	err = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(repo, "deploy", p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(paths.Replace(string(b))), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, b := range blocks {
		fmt.Fprintf(&script, "echo '### docs/deploy.md:%d' >&2\n%s\n", b.line, paths.Replace(b.text))
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = repo
	cmd.Env = []string{"PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH"), "HOME=" + root, "LANG=C"}
	// Its own process group, so what the guide starts in the background
	// (the controller, a worker) ends with the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: what stays in the background holds its end open.
	out, err := os.Create(filepath.Join(root, "guide.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = fmt.Errorf("still running after 3 minutes: %v", <-done)
	}
	if err != nil {
		log, _ := os.ReadFile(out.Name())
		t.Fatalf("the guide's commands failed (%v); the last ### line is the block:\n%s", err, log)
	}
	t.Logf("ran %d blocks of the guide (%d marked %s)", len(blocks), skipped, noTest)
}
