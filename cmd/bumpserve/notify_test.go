package main

import (
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/notify/notifytest"
)

// TestServeRefusesBadSMTP: a wrong --smtp stops the start with exit 2
// and a message naming the flag or the server; nothing is served.
func TestServeRefusesBadSMTP(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp", closed, "--smtp-from", "queue@example.org"}, closed},
		{[]string{"--smtp", "smtp://" + closed}, "--smtp-from"},
		{[]string{"--smtp-from", "queue@example.org"}, "without --smtp"},
		{[]string{"--smtp", "gopher://" + closed, "--smtp-from", "queue@example.org"}, "--smtp: scheme"},
		{[]string{"--smtp", closed, "--smtp-from", "queue"}, "--smtp-from"},
		{[]string{"--notify-attempts", "0"}, "notify-attempts"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--workers", "0"}, c.args...)
		out, errOut, code := bs(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "ready at") {
			t.Errorf("serve %q: exit %d, stdout %q, stderr %q; want exit 2 naming %q", c.args, code, out, errOut, c.want)
		}
	}
}

// TestNotifyCLI: `submit --notify` with an address and an https URL gets
// a real email and a signed POST when the job ends; the signature checks
// with the secret `user webhook-secret` prints; bad targets exit 2.
func TestNotifyCLI(t *testing.T) {
	t.Parallel()
	rc := notifytest.StartReceiver(t, func(int) int { return 200 })
	mta := notifytest.StartSMTP(t, rc.TLS.Clone(), "queue", "pw")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, t.TempDir(), "--workers", "1", "--smtp", "smtp://queue:pw@"+mta.Addr, "--smtp-from", "queue@example.org",
		"--notify-ca", ca, "--allow-private-webhooks")
	out, errOut, code := bs(t, nil, "user", "add", "alice", "--data", srv.Data)
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	alice := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + lastWord(out)}
	out, errOut, code = bs(t, nil, "user", "webhook-secret", "alice", "--data", srv.Data)
	secret := lastWord(out)
	if code != 0 || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("user webhook-secret: %d %q %s", code, out, errOut)
	}

	out, errOut, code = bs(t, alice, "submit", "--service", "sleep", "--spec", `{"seconds":0}`, "--name", "told",
		"--notify", "alice@example.org", "--notify", rc.URL+"/cli")
	if code != 0 {
		t.Fatalf("submit --notify: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	select {
	case m := <-mta.Mails:
		if m.To != "alice@example.org" || m.User != "queue" || !m.TLS || !strings.Contains(m.Data, "bumpserve job "+id+" COMPLETE: told") {
			t.Errorf("mail to %q as %q (TLS %v):\n%s", m.To, m.User, m.TLS, m.Data)
		}
	case <-time.After(time.Minute):
		t.Fatal("no email within a minute")
	}
	select {
	case h := <-rc.Got:
		var j job.Job
		if err := json.Unmarshal(h.Body, &j); err != nil || j.Name != "told" || h.Signature != notify.Sign(secret, h.Body) {
			t.Errorf("webhook %s signed %q; want job told signed with %s", h.Body, h.Signature, secret)
		}
	case <-time.After(time.Minute):
		t.Fatal("no webhook within a minute")
	}

	for _, c := range []struct{ notify, want string }{
		{"http://hooks.example.org/x", "allow-http-webhooks"},
		{"not-an-address", "neither an email address nor a webhook URL"},
		{"a@b@c", "notify.email"},
	} {
		_, errOut, code := bs(t, alice, "submit", "--service", "sleep", "--notify", c.notify)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("submit --notify %q: exit %d, %q; want exit 2 naming %q", c.notify, code, errOut, c.want)
		}
	}
	out, errOut, code = bs(t, nil, "user", "notify", "alice", "--email", "alice@example.org", "--data", srv.Data)
	if code != 0 || !strings.Contains(out, "email alice@example.org") {
		t.Errorf("user notify: %d %q %s", code, out, errOut)
	}
}
