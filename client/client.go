// Package client is a Go client for the bumpserve HTTP API, used by the
// command line and usable by any Go program.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Client talks to one bumpserve server with one token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	drain *drainNotice // nil without Options.OnDrain (admin.go)
}

// Options configure a Client.
type Options struct {
	// CAFile is a PEM file of certificates to trust for HTTPS, for servers
	// with a private CA; empty means the system roots.
	CAFile string
	// HTTP replaces the default HTTP client (the CA file is then ignored).
	HTTP *http.Client
	// OnDrain, if set, hears when the controller's answers to this
	// worker's claims and heartbeats say it was drained (true) or
	// resumed (false): a worker's way to tell its operator.
	OnDrain func(drained bool)
}

// New returns a client for the server at baseURL.
func New(baseURL, token string, opt Options) (*Client, error) {
	if baseURL == "" {
		return nil, errors.New("server: missing (use --server URL or BUMPSERVE_SERVER)")
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server: %q is not an http:// or https:// URL", baseURL)
	}
	hc := opt.HTTP
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if opt.CAFile != "" {
			pem, err := os.ReadFile(opt.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ca-file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca-file: %s holds no PEM certificate", opt.CAFile)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		hc = &http.Client{Transport: tr}
	}
	c := &Client{base: u, token: token, http: hc}
	if opt.OnDrain != nil {
		c.drain = &drainNotice{fn: opt.OnDrain}
	}
	return c, nil
}

// Error is an answer from the server with a status of 400 or more.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send adds the token and turns error statuses into *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, errorFrom(resp)
	}
	return resp, nil
}

// errorFrom reads an error answer's {"error": ...} (or plain text) body
// and closes it.
func errorFrom(resp *http.Response) *Error {
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	return &Error{Status: resp.StatusCode, Message: e.Error}
}

func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	return bytes.NewReader(b), err
}

// Job is the job object the API returns.
type Job = job.Job

// retryable reports whether an error is worth retrying (network trouble
// or a server-side failure), as opposed to an answer that will not change.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// Backoff waits before retry n (1, 2, ...): 0.2 s, 0.4 s, ... up to 10 s,
// or until ctx ends (returning its error).
func Backoff(ctx context.Context, n int) error {
	d := min(100*time.Millisecond<<min(n, 7), 10*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
