package testenv

import (
	"bufio"
	"bytes"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a process a test runs, such as `bumpserve serve` or `bumpserve
// worker`, with its standard error kept as its log.
type Proc struct {
	Cmd   *exec.Cmd
	Ended chan struct{} // closed once it has exited and its log is read
	mu    sync.Mutex
	log   bytes.Buffer
}

// StartProc starts path with args. When the test ends the process is
// killed (woken first, should the test have stopped it), and its log is
// printed if the test failed, under the name given.
func StartProc(t testing.TB, name, path string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(path, args...), Ended: make(chan struct{})}
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.Cmd.Wait()
		close(p.Ended)
	}()
	t.Cleanup(func() {
		p.Cmd.Process.Signal(syscall.SIGCONT)
		p.Cmd.Process.Kill()
		<-p.Ended
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, p.Log())
		}
	})
	return p
}

// Log is what the process has written to its standard error so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// WaitLog waits until a line of the log matches re and returns the
// match's submatches; the test fails if the process exits or timeout
// passes first.
func (p *Proc) WaitLog(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(p.Log()); m != nil {
			return m
		}
		select {
		case <-p.Ended:
			if m := re.FindStringSubmatch(p.Log()); m != nil {
				return m
			}
			t.Fatalf("%s exited before its log showed %q", p.Cmd.Path, re)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s logged %q", timeout, p.Cmd.Path, re)
		}
	}
}
