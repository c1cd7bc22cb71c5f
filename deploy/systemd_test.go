package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// binary is bumpserve, built once for these tests.
var binary string

func TestMain(m *testing.M) {
	bin, remove, err := testenv.BuildBumpserve("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// uids is this package's range of job user ids (each test server's own).
const uids = "67400-67499"

var units = []string{"systemd/bumpserve.service", "systemd/bumpserve-worker@.service"}

// TestUnitsVerify runs systemd-analyze verify on the shipped units, with
// the binary's path pointed at a real bumpserve (verify checks that it is
// executable): any complaint, warnings included, fails.
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	testenv.Need(t, err == nil, "systemd-analyze is not installed (the systemd package; scripts/install-deps)")
	dir := t.TempDir()
	for _, u := range units {
		text := substitute(t, shipped(t, u), "/usr/local/bin/bumpserve", binary)
		writeFile(t, filepath.Join(dir, filepath.Base(u)), text)
	}
	cmd := exec.Command(sa, "verify", filepath.Join(dir, "bumpserve.service"), filepath.Join(dir, "bumpserve-worker@pool1.service"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// execStart is a unit's ExecStart line, split as systemd splits it
// (these lines hold no quotes), with the install paths pointed at the
// test's and the specifiers %i and %H filled in.
func execStart(t *testing.T, unit string, paths map[string]string, instance string) []string {
	t.Helper()
	var line string
	for _, l := range strings.Split(shipped(t, unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			line = v
		}
	}
	if line == "" || strings.ContainsAny(line, `"'\`) {
		t.Fatalf("%s: ExecStart %q", unit, line)
	}
	host, _ := os.Hostname()
	var args []string
	for _, f := range strings.Fields(line) {
		for _, from := range []string{"/usr/local/bin/bumpserve", "/etc/bumpserve", "/var/lib/bumpserve-worker", "/var/lib/bumpserve"} {
			if rest, ok := strings.CutPrefix(f, from); ok && (rest == "" || rest[0] == '/') {
				f = paths[from] + rest
				break
			}
		}
		f = strings.NewReplacer("%i", instance, "%H", host, "%%", "%").Replace(f)
		args = append(args, f)
	}
	return args
}

// notifySocket is a socket like the one systemd gives a Type=notify
// service; its messages arrive on the channel.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return path, ch
}

func waitNotify(t *testing.T, what string, ch <-chan string, state string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case msg := <-ch:
			if strings.Contains("\n"+msg+"\n", "\n"+state+"\n") {
				return
			}
		case <-timeout:
			t.Fatalf("%s did not send %s", what, state)
		}
	}
}

// service runs a unit's command line as systemd would for Type=notify:
// with NOTIFY_SOCKET set; it returns once the service said READY=1.
func service(t *testing.T, name string, args []string) (*testenv.Proc, <-chan string) {
	t.Helper()
	sock, ch := notifySocket(t)
	os.Setenv("NOTIFY_SOCKET", sock) // read by the child at its start
	p := testenv.StartProc(t, name, args[0], args[1:]...)
	os.Unsetenv("NOTIFY_SOCKET")
	waitNotify(t, name, ch, "READY=1")
	return p, ch
}

// stop sends SIGTERM, as systemctl stop does (KillMode=mixed: to the main
// process only), and expects STOPPING=1 and a clean exit.
func stop(t *testing.T, name string, p *testenv.Proc, ch <-chan string) {
	t.Helper()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	waitNotify(t, name, ch, "STOPPING=1")
	select {
	case <-p.Ended:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop within 60 s of SIGTERM", name)
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM: %s", name, code, p.Log())
	}
}

// TestUnitsStart runs each unit's ExecStart line as written, with the
// shipped config files: the controller, then a worker pool that takes a
// job from it; each says READY=1 on the socket the test provides and
// drains on SIGTERM.
func TestUnitsStart(t *testing.T) {
	root := t.TempDir()
	paths := map[string]string{"/usr/local/bin/bumpserve": binary, "/etc/bumpserve": filepath.Join(root, "etc"),
		"/var/lib/bumpserve": filepath.Join(root, "lib"), "/var/lib/bumpserve-worker": filepath.Join(root, "lib-worker")}
	for _, d := range []string{"/etc/bumpserve", "/var/lib/bumpserve", "/var/lib/bumpserve-worker"} {
		if err := os.MkdirAll(paths[d], 0o700); err != nil { // systemd makes these (StateDirectory=...)
			t.Fatal(err)
		}
	}
	addr := freePort(t)
	writeFile(t, filepath.Join(paths["/etc/bumpserve"], "bumpserve.conf"),
		substitute(t, shipped(t, "systemd/bumpserve.conf"), "addr = 127.0.0.1:8080", "addr = "+addr))
	ctl, ctlCh := service(t, "bumpserve.service", execStart(t, units[0], paths, ""))
	base := "http://" + addr + "/queue"

	out, err := exec.Command(binary, "user", "add", "pool-pool1", "--worker", "--data", paths["/var/lib/bumpserve"]).Output()
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	fields := strings.Fields(string(out))
	worker := substitute(t, shipped(t, "systemd/worker.conf"),
		"server = http://127.0.0.1:8080/queue", "server = "+base,
		"PUT-THE-WORKER-TOKEN-HERE", fields[len(fields)-1],
		"slots = 4", "slots = 1",
		"sandbox-uids = 61000-61999", "sandbox-uids = "+uids)
	if os.Geteuid() != 0 { // the unit runs as root; strict needs it
		worker = substitute(t, worker, "sandbox-require = strict", "sandbox-require = basic")
	}
	writeFile(t, filepath.Join(paths["/etc/bumpserve"], "worker-pool1.conf"), worker)
	wk, wkCh := service(t, "bumpserve-worker@pool1.service", execStart(t, units[1], paths, "pool1"))

	admin, err := os.ReadFile(filepath.Join(paths["/var/lib/bumpserve"], "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(base, strings.TrimSpace(string(admin)), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A native fit: a job process of its own, confined by the pool's sandbox.
	j, err := cl.Submit(context.Background(), client.Submission{Service: "fit", Spec: json.RawMessage(`{"fitter": "lm",
		"parameters": {"a": {"value": 1}}, "datasets": [{"model": "a*x", "x": [1, 2, 3], "y": [2, 4.1, 5.9]}]}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	final, err := cl.Watch(context.Background(), j.ID, func(*client.Job) error { return nil })
	host, _ := os.Hostname()
	if err != nil || final.State != "COMPLETE" || final.Worker != host+"-pool1" {
		t.Fatalf("job through the pool: %+v %v", final, err)
	}
	// As root (as the unit runs it), the pool's config asks for the strict
	// sandbox: a uid per job, namespaces, cgroups.
	if os.Geteuid() == 0 && !regexp.MustCompile(`job processes are confined.*uid,netns,mountns`).MatchString(wk.Log()) {
		t.Errorf("the pool did not confine its jobs strictly: %s", wk.Log())
	}
	stop(t, "bumpserve-worker@pool1.service", wk, wkCh)
	stop(t, "bumpserve.service", ctl, ctlCh)
}

// TestStartupErrors: a mistake in the configuration stops the start with
// exit code 2 and a message naming it, never a server that ignores it.
func TestStartupErrors(t *testing.T) {
	conf := writeFile(t, filepath.Join(t.TempDir(), "bumpserve.conf"), "addr = 127.0.0.1:0\nbase-pth = /queue\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", conf}, `config ` + conf + `:2: unknown setting "base-pth"`},
		{[]string{"--base-path", "queue"}, `base-path: "queue" must start with a slash`},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, `trusted-proxies: "10.0.0.0/33" is not a CIDR`},
		{[]string{"--trusted-proxies", "127.0.0.1", "--remote-user-header", "X Remote"}, `remote-user-header: "X Remote" is not a header name`},
		{[]string{"--remote-user-header", "X-Remote-User"}, "remote-user-header: needs --trusted-proxies"},
	} {
		cmd := exec.Command(binary, append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--workers", "0"}, tc.args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("serve %v: exit %d (%v), stderr %q; want exit 2 saying %q", tc.args, code, err, stderr.String(), tc.want)
		}
	}
}
