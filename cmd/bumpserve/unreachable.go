package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// unreachable recognises a failure to connect to the server at all (as
// opposed to an answer from it) and says so in one line that points at
// the likely cause, instead of Go's "Get "http://…/api/v1/jobs?limit=50":
// dial tcp …: connect: connection refused".
func unreachable(err error) (string, bool) {
	var ue *url.Error
	var op *net.OpError
	if !errors.As(err, &ue) || !errors.As(err, &op) || op.Op != "dial" {
		return "", false
	}
	server := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil {
		// The server's own address, under a base path if it has one.
		base, _, _ := strings.Cut(u.Path, "/api/v1/")
		server = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: base}).String()
	}
	var dns *net.DNSError
	reason := op.Err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.As(err, &dns):
		reason = fmt.Sprintf("cannot resolve host %q", dns.Name)
	case op.Timeout():
		reason = "connection timed out"
	}
	return fmt.Sprintf("cannot reach %s: %s; is `bumpserve serve` running?", server, reason), true
}
