// Package deploy_test checks what deploy/ ships against the real thing:
// Apache and nginx started from the shipped configurations in front of a
// controller under /queue, the systemd units' ExecStart lines run as
// written, and the commands of docs/deploy.md.
package deploy_test

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// shippedBackend is the controller's address in the shipped proxy configs;
// tests put their own in its place.
const shippedBackend = "127.0.0.1:8080"

// shipped reads a file deploy/ ships.
func shipped(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// substitute replaces each old with its new, failing the test if the
// shipped text no longer contains old: the test must follow the file.
func substitute(t *testing.T, text string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("the shipped config no longer contains %q", pairs[i])
		}
		text = strings.ReplaceAll(text, pairs[i], pairs[i+1])
	}
	return text
}

// freePort finds a port nobody listens on (the proxy binds it a moment later).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeFile writes a file the proxy's unprivileged workers may read.
func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readableDir is a temp dir that the proxy's workers (www-data when the
// test runs as root) can enter.
func readableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's temp root, then this one
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// htpasswd is a password file for the site login both proxies read
// ({SHA} entries, which Apache and nginx both accept).
func htpasswd(users map[string]string) string {
	var b strings.Builder
	for u, p := range users {
		sum := sha1.Sum([]byte(p))
		fmt.Fprintf(&b, "%s:{SHA}%s\n", u, base64.StdEncoding.EncodeToString(sum[:]))
	}
	return b.String()
}

// runProxy starts a proxy in the foreground, stops it gracefully (SIGTERM)
// when the test ends, and waits until /queue/healthz answers through it.
func runProxy(t *testing.T, name, url string, path string, args ...string) {
	t.Helper()
	p := testenv.StartProc(t, name, path, args...)
	t.Cleanup(func() { // runs before StartProc's kill: a clean stop ends the workers too
		p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.Ended:
		case <-time.After(10 * time.Second):
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/queue/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.Ended:
			t.Fatalf("%s exited: %s", name, p.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /queue/healthz not answering through it (%v): %s", name, err, p.Log())
		}
	}
}

const apacheBin = "/usr/sbin/apache2"

// startApache runs Debian's apache2 as this user, on a free port, with a
// minimal server config that loads the modules and includes the shipped
// deploy/apache/bumpserve.conf, pointed at backend. It returns the base URL.
func startApache(t *testing.T, backend, passwords string) string {
	t.Helper()
	_, err := os.Stat(apacheBin)
	testenv.Need(t, err == nil, "apache2 is not installed (scripts/install-deps)")
	dir := readableDir(t)
	pw := writeFile(t, filepath.Join(dir, "htpasswd"), passwords)
	site := substitute(t, shipped(t, "apache/bumpserve.conf"),
		shippedBackend, backend, "/etc/apache2/bumpserve.htpasswd", pw)
	writeFile(t, filepath.Join(dir, "bumpserve.conf"), site)
	addr := freePort(t)
	var conf strings.Builder
	for _, m := range []string{"mpm_event", "authz_core", "authn_core", "authn_file", "auth_basic", "authz_user",
		"proxy", "proxy_http", "headers"} {
		fmt.Fprintf(&conf, "LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so\n", m, m)
	}
	fmt.Fprintf(&conf, "ServerRoot %s\nServerName 127.0.0.1\nListen %s\nPidFile %s/apache.pid\nDefaultRuntimeDir %s\n"+
		"ErrorLog /dev/stderr\nLogLevel warn\nMutex file:%s default\n", dir, addr, dir, dir, dir)
	if os.Geteuid() == 0 {
		conf.WriteString("User www-data\nGroup www-data\n")
	}
	fmt.Fprintf(&conf, "Include %s/bumpserve.conf\n", dir)
	cf := writeFile(t, filepath.Join(dir, "httpd.conf"), conf.String())
	if out, err := exec.Command(apacheBin, "-f", cf, "-t").CombinedOutput(); err != nil {
		t.Fatalf("apache2 -t: %v\n%s", err, out)
	}
	url := "http://" + addr
	runProxy(t, "apache2", url, apacheBin, "-f", cf, "-DFOREGROUND")
	return url
}

const nginxBin = "/usr/sbin/nginx"

// startNginx runs Debian's nginx as this user, on a free port, with a
// minimal nginx.conf whose server block includes the shipped
// deploy/nginx/bumpserve.conf, pointed at backend. It returns the base URL.
func startNginx(t *testing.T, backend, passwords string) string {
	t.Helper()
	_, err := os.Stat(nginxBin)
	testenv.Need(t, err == nil, "nginx is not installed (scripts/install-deps)")
	dir := readableDir(t)
	pw := writeFile(t, filepath.Join(dir, "htpasswd"), passwords)
	writeFile(t, filepath.Join(dir, "bumpserve-proxy.conf"), shipped(t, "nginx/bumpserve-proxy.conf"))
	site := substitute(t, shipped(t, "nginx/bumpserve.conf"),
		shippedBackend, backend, "/etc/nginx/bumpserve.htpasswd", pw,
		"snippets/bumpserve-proxy.conf", filepath.Join(dir, "bumpserve-proxy.conf"))
	writeFile(t, filepath.Join(dir, "bumpserve.conf"), site)
	addr := freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // its workers write request bodies to this test's temp dir
	}
	conf := fmt.Sprintf(`%s
pid %[2]s/nginx.pid;
error_log stderr warn;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server {
        listen %[3]s;
        include %[2]s/bumpserve.conf;
    }
}
`, user, dir, addr)
	cf := writeFile(t, filepath.Join(dir, "nginx.conf"), conf)
	if out, err := exec.Command(nginxBin, "-t", "-p", dir, "-c", cf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	url := "http://" + addr
	runProxy(t, "nginx", url, nginxBin, "-p", dir, "-c", cf, "-g", "daemon off;")
	return url
}
