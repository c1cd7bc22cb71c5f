// Package securitytest holds cross-package security tests that need a
// real browser: it has no code of its own.
package securitytest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// startBrowser starts a headless chromium for the test, as the pages'
// browser test does, with downloads denied: a job file served as an
// attachment must be refused, not saved somewhere on this machine.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx := testenv.Browser(t)
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior,
		browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorDeny}); err != nil {
		t.Fatalf("deny downloads: %v", err)
	}
	return ctx
}

// open navigates and waits for the load. A navigation the browser turns
// into a (denied) download reports an error and leaves the tab where it
// was: that is one of the outcomes under test, so it is returned, not
// fatal.
func open(t *testing.T, ctx context.Context, url string) error {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(sctx, chromedp.Navigate(url))
}

// waitFor polls a script in the page until it is true.
func waitFor(t *testing.T, ctx context.Context, what, script string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, func() bool {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](script))
		return err == nil && ok
	})
}

// beacon counts requests by path: an evil script that runs calls it, so a
// control run proves the marker works, and a count of zero afterwards
// means no script ran (CSP would also block the call, which is why the
// title and storage markers below matter more for the service).
type beacon struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newBeacon(t *testing.T) *beacon {
	b := &beacon{hits: map[string]int{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits[r.URL.Path]++
		b.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *beacon) count(name string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits["/hit/"+name]
}

func (b *beacon) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.hits {
		n += c
	}
	return n
}

// The evil script: it retitles its document, writes localStorage of the
// origin it runs in, and calls the beacon, each guarded so one blocked
// channel does not stop the others.
func evilScript(b *beacon, name string) string {
	return fmt.Sprintf(`try { document.title = "PWNED"; } catch (e) {}
try { localStorage.setItem("pwned", %[1]q); } catch (e) {}
try { fetch(%[2]q, {mode: "no-cors"}).catch(function () {}); } catch (e) {}
try { new Image().src = %[2]q + "-img"; } catch (e) {}`, name, b.srv.URL+"/hit/"+name)
}

func evilHTML(b *beacon, name string) string {
	return "<!doctype html><html><head><title>harmless</title></head><body><p>results</p>" +
		"<script>" + evilScript(b, name) + "</script><img src=x onerror=\"document.title='PWNED'\"></body></html>\n"
}

func evilSVG(b *beacon, name string) string {
	return `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" onload="document.title='PWNED'">` +
		`<title>harmless</title><rect width="40" height="30" fill="teal"/>` +
		`<script type="text/javascript"><![CDATA[` + evilScript(b, name) + `]]></script></svg>` + "\n"
}

// control serves files as a careless server would: the type from the
// extension and no protective headers, except that a file with an entry
// in guarded gets exactly those headers (the service's, minus the
// attachment disposition), so their CSP and nosniff are tried on their own.
func control(t *testing.T, files map[string]string, guarded map[string]http.Header) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		ctype := "text/html; charset=utf-8"
		if strings.HasSuffix(r.URL.Path, ".svg") {
			ctype = "image/svg+xml"
		}
		w.Header().Set("Content-Type", ctype)
		for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cross-Origin-Resource-Policy", "Content-Type"} {
			if v := guarded[r.URL.Path].Get(k); v != "" {
				w.Header().Set(k, v)
			}
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}
