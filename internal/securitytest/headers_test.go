package securitytest

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// e2eSecond keeps waits readable: testenv.Eventually(t, 10*e2eSecond, ...).
const e2eSecond = time.Second

// inlineOK are the only types a job file may be shown inline as: none of
// them can run script.
var inlineOK = []string{"image/png", "image/jpeg", "text/plain", "application/json"}

// checkHeaders fetches each job file by every route that serves one (the
// API with a bearer token, the pages with the session cookie, the old
// flat route) and checks the headers that keep it from running script:
// nosniff, a sandboxing CSP with no script source, and an attachment
// unless its type is known safe. It returns the page route's headers.
func checkHeaders(t *testing.T, env *testenv.Env, token string, id int64, files map[string]string) map[string]http.Header {
	t.Helper()
	out := map[string]http.Header{}
	for _, p := range sortedKeys(files) {
		routes := map[string]func(*http.Request){
			fmt.Sprintf("/api/v1/jobs/%d/files/%s", id, p): func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) },
			fmt.Sprintf("/ui/jobs/%d/files/%s", id, p):     func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "bumpserve_session", Value: token}) },
		}
		if strings.HasPrefix(p, "output/") { // the old route looks in output/ first
			routes[fmt.Sprintf("/jobs/%d/data/%s", id, path.Base(p))] = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
		}
		for route, auth := range routes {
			req, _ := http.NewRequest("GET", env.URL+route, nil)
			auth(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != 200 || string(body) != files[p] {
				t.Fatalf("GET %s: %s, %d bytes", route, resp.Status, len(body))
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: X-Content-Type-Options %q", route, h.Get("X-Content-Type-Options"))
			}
			csp := strings.ToLower(h.Get("Content-Security-Policy"))
			if !slices.Contains(directives(csp), "sandbox") || !strings.Contains(csp, "default-src 'none'") ||
				strings.Contains(csp, "script-src") || strings.Contains(csp, "allow-scripts") {
				t.Errorf("GET %s: Content-Security-Policy %q does not sandbox and forbid script", route, csp)
			}
			ctype, _, _ := strings.Cut(h.Get("Content-Type"), ";")
			disp := h.Get("Content-Disposition")
			if !slices.Contains(inlineOK, ctype) && !strings.HasPrefix(disp, "attachment") {
				t.Errorf("GET %s: %s served as %q, want an attachment", route, ctype, disp)
			}
			if strings.HasPrefix(route, "/ui/") {
				out[p] = h
			}
		}
	}
	return out
}

// directives lists a CSP's directives with their values.
func directives(csp string) []string {
	var out []string
	for _, d := range strings.Split(csp, ";") {
		out = append(out, strings.TrimSpace(d))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
