package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Proxies are the peers (--trusted-proxies) whose forwarding headers
// (X-Forwarded-For, -Proto, -Host) and remote-user header are believed.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of CIDRs ("127.0.0.1/32,
// 10.0.0.0/8"); a bare address stands for itself alone.
func ParseProxies(list string) (Proxies, error) {
	var p Proxies
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted-proxies: %q is not a CIDR (for example 127.0.0.1/32, 10.0.0.0/8 or ::1/128)", f)
			}
			p = append(p, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is not a CIDR (for example 127.0.0.1/32, 10.0.0.0/8 or ::1/128)", f)
		}
		p = append(p, pf.Masked())
	}
	return p, nil
}

// Trusts reports whether addr is one of the proxies.
func (p Proxies) Trusts(addr netip.Addr) bool {
	addr = addr.Unmap()
	return slices.ContainsFunc(p, func(pf netip.Prefix) bool { return pf.Contains(addr) })
}

func (p Proxies) String() string {
	s := make([]string, len(p))
	for i, pf := range p {
		s[i] = pf.String()
	}
	return strings.Join(s, ",")
}

// forwardingHeaders are the headers a proxy adds to say who the client
// was. From a peer not in the list they are refused, never ignored: a
// client that sets them itself is trying to pass for someone else, and a
// proxy missing from the list is a mistake the operator should see.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"}

// peerKey marks a request that came through a trusted proxy; its value
// is the scheme the client used (from X-Forwarded-Proto, else the peer's).
type peerKey struct{}

// viaTrustedProxy reports whether r came from a peer in --trusted-proxies.
func viaTrustedProxy(r *http.Request) bool {
	_, ok := r.Context().Value(peerKey{}).(string)
	return ok
}

// IsHTTPS reports whether the client reached the server over HTTPS,
// directly or through a trusted proxy that says so; session cookies are
// then marked Secure.
func IsHTTPS(r *http.Request) bool {
	if s, ok := r.Context().Value(peerKey{}).(string); ok {
		return s == "https"
	}
	return r.TLS != nil
}

// withForwarding believes a trusted proxy's forwarding headers: the
// request's RemoteAddr becomes the client's address, Host the host the
// client asked for, and IsHTTPS the scheme it used. A request carrying
// them from any other peer is refused with 403.
func withForwarding(h http.Handler, trusted Proxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !trusted.Trusts(peer.Addr()) {
			for _, name := range forwardingHeaders {
				if _, ok := r.Header[name]; ok {
					writeError(w, http.StatusForbidden, "%s from %s, which is not a trusted proxy (--trusted-proxies %q)", name, hostOf(r.RemoteAddr), trusted.String())
					return
				}
			}
			h.ServeHTTP(w, r)
			return
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p != "" {
			if p != "http" && p != "https" {
				writeError(w, http.StatusBadRequest, "X-Forwarded-Proto: %q is not http or https", p)
				return
			}
			scheme = p
		}
		r2 := r.Clone(context.WithValue(r.Context(), peerKey{}, scheme))
		if hosts := r.Header.Get("X-Forwarded-Host"); hosts != "" {
			// The first proxy in a chain heard the client's own Host.
			host := strings.TrimSpace(strings.Split(hosts, ",")[0])
			if host == "" || strings.ContainsAny(host, "/\\@ \t") {
				writeError(w, http.StatusBadRequest, "X-Forwarded-Host: %q is not a host", hosts)
				return
			}
			r2.Host = host
		}
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			client, err := clientFromChain(xff, trusted)
			if err != nil {
				writeError(w, http.StatusBadRequest, "X-Forwarded-For: %v", err)
				return
			}
			r2.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		h.ServeHTTP(w, r2)
	})
}

// clientFromChain picks the client out of "client, proxy1, proxy2": the
// rightmost address that is not itself a trusted proxy, as everything to
// its left was written by a party nobody vouches for.
func clientFromChain(xff string, trusted Proxies) (netip.Addr, error) {
	hops := strings.Split(xff, ",")
	var client netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%q is not an IP address", strings.TrimSpace(hops[i]))
		}
		client = a.Unmap()
		if !trusted.Trusts(client) {
			break
		}
	}
	return client, nil
}

// firstValue is what the proxy nearest the client wrote.
func firstValue(list string) string {
	first, _, _ := strings.Cut(list, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
