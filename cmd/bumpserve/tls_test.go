package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// writeCA makes a private CA and a server certificate for 127.0.0.1
// signed by it, and returns the paths of the CA, the cert and the key.
func writeCA(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, kind string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: b}), 0o600)
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// The controller serves HTTPS; a worker trusting the private CA runs its
// jobs, one that does not refuses to talk to it.
func TestHTTPSWorker(t *testing.T) {
	t.Parallel()
	caFile, certFile, keyFile := writeCA(t)
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
