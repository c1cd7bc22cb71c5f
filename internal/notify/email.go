package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// SMTPTimeoutDefault bounds one email's whole conversation.
const SMTPTimeoutDefault = 30 * time.Second

// MailConfig configures email delivery.
type MailConfig struct {
	// Server is the SMTP server: smtp://[USER:PASS@]HOST[:PORT] (port 587
	// by default, STARTTLS whenever the server offers it and required
	// for AUTH except on loopback), smtps://... (implicit TLS, port 465),
	// or a bare HOST:PORT, which is smtp://HOST:PORT.
	Server string
	From   string // the envelope and header sender
	// RootCAs, if set, are the CAs trusted for the server's certificate.
	RootCAs *x509.CertPool
	Timeout time.Duration
	// Hostname is sent in EHLO (default "localhost").
	Hostname string
}

// Mailer sends job-ended emails.
type Mailer struct {
	cfg      MailConfig
	addr     string // host:port
	host     string
	implicit bool // smtps: TLS from the first byte
	auth     smtp.Auth
}

// NewMailer checks cfg; the error names the flag and what is accepted.
func NewMailer(cfg MailConfig) (*Mailer, error) {
	if err := job.CheckEmail(cfg.From); err != nil {
		return nil, fmt.Errorf("--smtp-from: %w", err)
	}
	raw := cfg.Server
	if !strings.Contains(raw, "://") {
		raw = "smtp://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--smtp: %q is not accepted (accepted: smtp://[USER:PASS@]HOST[:PORT], smtps://… or HOST:PORT)", redact(cfg.Server))
	}
	m := &Mailer{cfg: cfg, host: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		port = cmpOr(port, "587")
	case "smtps":
		port, m.implicit = cmpOr(port, "465"), true
	default:
		return nil, fmt.Errorf("--smtp: scheme %q is not accepted (accepted: smtp, smtps)", u.Scheme)
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		pass, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pass, m.host)
	}
	if m.cfg.Timeout <= 0 {
		m.cfg.Timeout = SMTPTimeoutDefault
	}
	if m.cfg.Hostname == "" {
		m.cfg.Hostname = "localhost"
	}
	return m, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redact hides a password in an --smtp value for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}

// Addr is the server's host:port, for messages.
func (m *Mailer) Addr() string { return m.addr }

// Check connects, greets, starts TLS and authenticates, then quits: the
// server start-up check, so a wrong --smtp is found before any job ends.
func (m *Mailer) Check(ctx context.Context) error {
	c, err := m.dial(ctx)
	if err != nil {
		return fmt.Errorf("smtp server %s: %w", m.addr, err)
	}
	defer c.Close()
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp server %s: %w", m.addr, err)
	}
	return nil
}

// dial returns a client that has greeted, started TLS where it can and
// authenticated where configured.
func (m *Mailer) dial(ctx context.Context) (*smtp.Client, error) {
	deadline := time.Now().Add(m.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(deadline) // the whole conversation, not only the dial
	tlsConfig := &tls.Config{ServerName: m.host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if m.implicit {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if err := c.Hello(m.cfg.Hostname); err != nil {
		return nil, err
	}
	if !m.implicit {
		if has, _ := c.Extension("STARTTLS"); has {
			if err := c.StartTLS(tlsConfig); err != nil {
				return nil, fmt.Errorf("starttls: %w", err)
			}
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	ok = true
	return c, nil
}

// Send mails the news of j's end to rcpt. A 5xx answer is final.
func (m *Mailer) Send(ctx context.Context, rcpt string, j *job.Job) error {
	err := m.send(ctx, rcpt, j)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &permanentError{err}
	}
	return err
}

func (m *Mailer) send(ctx context.Context, rcpt string, j *job.Job) error {
	c, err := m.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(m.cfg.From); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(message(m.cfg.From, rcpt, j)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message is the email: plain text, the subject saying which job ended
// how. The job's name is the one user-given text in a header; it is
// Q-encoded (names carry no line breaks, see the submit checks).
func message(from, to string, j *job.Job) []byte {
	subject := fmt.Sprintf("bumpserve job %d %s", j.ID, j.State)
	if j.Name != "" {
		subject += ": " + j.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", from, to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\n\r\n")
	fmt.Fprintf(&b, "Job %d (%s, service %s) ended %s.\r\n", j.ID, j.Name, j.Service, j.State)
	if j.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s\r\n", j.Reason)
	}
	fmt.Fprintf(&b, "Owner: %s\r\nSubmitted: %s\r\n", j.Owner, j.Submitted.UTC().Format(time.RFC3339))
	if j.Finished != nil {
		fmt.Fprintf(&b, "Finished: %s\r\n", j.Finished.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "\r\nbumpserve show %d; bumpserve results %d\r\n", j.ID, j.ID)
	return []byte(b.String())
}
