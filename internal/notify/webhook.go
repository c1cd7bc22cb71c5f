package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/bumpserve/bumpserve/internal/version"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook's body under the
// job owner's secret, as "sha256=HEX".
const SignatureHeader = "X-Bumpserve-Signature"

// WebhookTimeoutDefault bounds one webhook request.
const WebhookTimeoutDefault = 10 * time.Second

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// RootCAs, if set, are the CAs trusted for https receivers (the
	// system's otherwise).
	RootCAs *x509.CertPool
	// AllowPrivate admits receivers on loopback, private, link-local and
	// other non-public addresses. Without it a webhook cannot be pointed
	// at the controller's own network (cloud metadata, internal admin
	// pages): the address is checked when connecting, after DNS, so a
	// name that resolves inside is refused too.
	AllowPrivate bool
	Timeout      time.Duration
}

// Webhooks posts jobs to webhook receivers.
type Webhooks struct {
	client *http.Client
}

// NewWebhooks returns a webhook sender.
func NewWebhooks(cfg WebhookConfig) *Webhooks {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = refusePrivate
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would hide the receiver's address from the check
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = WebhookTimeoutDefault
	}
	return &Webhooks{client: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// A redirect could lead anywhere, past the https and address
		// checks: the receiver's first answer counts.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Post sends body to url, signed with secret. A 2xx answer is success;
// other 4xx answers (but 408 and 429) are final; anything else is
// worth another attempt.
func (w *Webhooks) Post(ctx context.Context, url string, body []byte, secret string, delivery int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bumpserve/"+version.String())
	req.Header.Set(SignatureHeader, Sign(secret, body))
	req.Header.Set("X-Bumpserve-Event", "job.ended")
	req.Header.Set("X-Bumpserve-Delivery", strconv.FormatInt(delivery, 10))
	resp, err := w.client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivate) {
			return &permanentError{err}
		}
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return &permanentError{fmt.Errorf("receiver answered %s", resp.Status)}
	default:
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
}

var errPrivate = errors.New("receiver address is not public (serve --allow-private-webhooks admits it)")

// refusePrivate is a dialer's Control: it sees the address actually
// connected to.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return fmt.Errorf("%s: %w", host, errPrivate)
	}
	return nil
}
