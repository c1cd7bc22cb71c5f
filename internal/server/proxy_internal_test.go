package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientFromChain(t *testing.T) {
	trusted, _ := ParseProxies("127.0.0.1/32,10.0.0.0/8")
	for _, tc := range []struct{ xff, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"192.0.2.7, 10.1.1.1", "192.0.2.7"},          // through two proxies
		{"6.6.6.6, 192.0.2.7, 10.1.1.1", "192.0.2.7"}, // the client's own claim is not believed
		{"10.2.2.2, 10.1.1.1", "10.2.2.2"},            // all trusted: the leftmost
		{"::ffff:192.0.2.9", "192.0.2.9"},
	} {
		got, err := clientFromChain(tc.xff, trusted)
		if err != nil || got.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.xff, got, err, tc.want)
		}
	}
	if _, err := clientFromChain("192.0.2.7, nonsense", trusted); err == nil {
		t.Error("a chain with a non-address was accepted")
	}
}

// TestForwardingRewrites: from a trusted proxy the handler sees the
// client's address, host and scheme; without the headers, the peer's.
func TestForwardingRewrites(t *testing.T) {
	trusted, _ := ParseProxies("127.0.0.1")
	var addr, host string
	var https bool
	h := withForwarding(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, host, https = r.RemoteAddr, r.Host, IsHTTPS(r)
	}), trusted)
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "192.0.2.7")
	r.Header.Set("X-Forwarded-Host", "fit.example.org")
	r.Header.Set("X-Forwarded-Proto", "https")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if addr != "192.0.2.7:0" || host != "fit.example.org" || !https {
		t.Errorf("through the proxy: %s %s https=%v", addr, host, https)
	}
	r = httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Forwarded-Proto", "gopher")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Errorf("X-Forwarded-Proto gopher: %d, want 400", w.Code)
	}
}

func TestPrefixCookiePath(t *testing.T) {
	for in, want := range map[string]string{
		"s=1; Path=/ui; HttpOnly":   "s=1; Path=/queue/ui; HttpOnly",
		"s=1; path=/; Secure":       "s=1; Path=/queue; Secure",
		"s=1; HttpOnly":             "s=1; HttpOnly",
		"s=1; Path=/ui/; Max-Age=0": "s=1; Path=/queue/ui; Max-Age=0",
	} {
		if got := prefixCookiePath(in, "/queue"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
