// Package notifytest runs what notifications are sent to, for tests: a
// real SMTP server (go-smtp) and real HTTPS webhook receivers.
package notifytest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message a test SMTP server accepted.
type Mail struct {
	From, To, Data, User string
	TLS                  bool
}

// SMTPServer is a real SMTP server (go-smtp) on loopback, with STARTTLS
// under the certificate of tlsCert and AUTH PLAIN for user/pass.
type SMTPServer struct {
	Addr  string
	Mails chan Mail
}

// StartSMTP starts the server until the test ends (no AUTH if user is "").
func StartSMTP(t testing.TB, tlsCert *tls.Config, user, pass string) *SMTPServer {
	t.Helper()
	s := &SMTPServer{Mails: make(chan Mail, 100)}
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
	s.Addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

type session struct {
	srv        *SMTPServer
	conn       *smtp.Conn
	user, pass string
	authed     string
	m          Mail
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
	s.m = Mail{From: from, User: s.authed}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.m.To = to; return nil }

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.m.TLS = s.conn.TLSConnectionState()
	s.m.Data = string(b)
	s.srv.Mails <- s.m
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// Hook is one request a webhook receiver got.
type Hook struct {
	Body      []byte
	Signature string
}

// Receiver is a real HTTPS webhook receiver; answer decides the status
// code of each request (and may block, for a slow receiver).
type Receiver struct {
	*httptest.Server
	Got chan Hook
	mu  sync.Mutex
	n   int
}

// StartReceiver starts a receiver until the test ends; answer gets the
// request's number, from 1.
func StartReceiver(t testing.TB, answer func(n int) int) *Receiver {
	t.Helper()
	rc := &Receiver{Got: make(chan Hook, 100)}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		code := answer(n)
		if code/100 == 2 {
			rc.Got <- Hook{Body: body, Signature: r.Header.Get("X-Bumpserve-Signature")}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Trust returns a pool holding the receivers' test CA (httptest servers
// share one certificate).
func Trust(rcs ...*Receiver) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, rc := range rcs {
		pool.AddCert(rc.Certificate())
	}
	return pool
}
