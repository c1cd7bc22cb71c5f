package notify_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mail is one message a test SMTP server accepted.
type mail struct {
	from, to, data, user string
	tls                  bool
}

// smtpServer is a real SMTP server (go-smtp) on loopback, with STARTTLS
// under the certificate of tlsCert and AUTH PLAIN for user/pass.
type smtpServer struct {
	addr  string
	mails chan mail
}

func startSMTP(t *testing.T, tlsCert *tls.Config, user, pass string) *smtpServer {
	t.Helper()
	s := &smtpServer{mails: make(chan mail, 100)}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c, user: user, pass: pass}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.TLSConfig = tlsCert
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

type session struct {
	srv        *smtpServer
	conn       *smtp.Conn
	user, pass string
	authed     string
	m          mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.user || pass != s.pass {
			return errors.New("bad credentials")
		}
		s.authed = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user != "" && s.authed == "" {
		return smtp.ErrAuthRequired
	}
	s.m = mail{from: from, user: s.authed}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.m.to = to; return nil }

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.m.tls = s.conn.TLSConnectionState()
	s.m.data = string(b)
	s.srv.mails <- s.m
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// hook is one request a webhook receiver got.
type hook struct {
	body      []byte
	signature string
}

// receiver is a real HTTPS webhook receiver; answer decides the status
// code of each request (and may block, for a slow receiver).
type receiver struct {
	*httptest.Server
	got chan hook
	mu  sync.Mutex
	n   int
}

func startReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan hook, 100)}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		code := answer(n)
		if code/100 == 2 {
			rc.got <- hook{body: body, signature: r.Header.Get("X-Bumpserve-Signature")}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// trust returns a pool holding the receivers' test CA (httptest servers
// share one certificate).
func trust(rcs ...*receiver) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, rc := range rcs {
		pool.AddCert(rc.Certificate())
	}
	return pool
}

func hookURL(rc *receiver, path string) string { return rc.URL + path }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
