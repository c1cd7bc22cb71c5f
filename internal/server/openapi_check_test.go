package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/bumpserve/bumpserve/api"
)

// apiCheck is an HTTP client that checks every answer against the
// OpenAPI description (api/openapi.json) and remembers which of its
// operations answered with which codes.
type apiCheck struct {
	t    *testing.T
	base string
	doc  *openapi3.T
	mux  *http.ServeMux // the description's operations as ServeMux patterns
	ops  map[string]*routers.Route

	mu   sync.Mutex
	seen map[string][]int // pattern -> status codes validated
}

// muxPath turns an OpenAPI path into a ServeMux one: a trailing {path}
// parameter (a job's file, documented as possibly holding slashes) takes
// the rest of the path, as in the server's own patterns.
func muxPath(p string) string {
	if rest, ok := strings.CutSuffix(p, "/{path}"); ok {
		return rest + "/{path...}"
	}
	return p
}

func newAPICheck(t *testing.T, base string) *apiCheck {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("load api/openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.json is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("api/openapi.json says openapi %q, want 3.1", doc.OpenAPI)
	}
	c := &apiCheck{t: t, base: base, doc: doc, mux: http.NewServeMux(), ops: map[string]*routers.Route{}, seen: map[string][]int{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			pattern := method + " " + muxPath(path)
			c.mux.Handle(pattern, http.NotFoundHandler())
			c.ops[pattern] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return c
}

// Patterns lists the described operations as ServeMux patterns.
func (c *apiCheck) Patterns() []string {
	var out []string
	for p := range c.ops {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// do sends a request (token as a bearer token, if any), checks the answer
// against the description and returns its code, body and headers.
func (c *apiCheck) do(method, path, token, ctype string, body io.Reader) (int, []byte, http.Header) {
	return c.send(method, path, ctype, body, func(r *http.Request) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	})
}

// basic is do with the token as the password of HTTP basic auth, as
// the old Bumps client sends it.
func (c *apiCheck) basic(method, path, token, ctype string, body io.Reader) (int, []byte, http.Header) {
	return c.send(method, path, ctype, body, func(r *http.Request) { r.SetBasicAuth("bumps", token) })
}

func (c *apiCheck) send(method, path, ctype string, body io.Reader, auth func(*http.Request)) (int, []byte, http.Header) {
	t := c.t
	t.Helper()
	var sent []byte // the body, kept to check the request too
	if body != nil {
		sent, _ = io.ReadAll(body)
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	auth(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	_, pattern := c.mux.Handler(req)
	route := c.ops[pattern]
	if route == nil {
		t.Errorf("%s %s: no operation in api/openapi.json describes it (answered %d %s)", method, path, resp.StatusCode, b)
		return resp.StatusCode, b, resp.Header
	}
	if resp.StatusCode/100 == 2 {
		// A request the server took must be one the description
		// allows, or a client written from it could not make it.
		check, _ := http.NewRequest(method, c.base+path, bytes.NewReader(sent))
		check.Header = req.Header.Clone()
		_, params := matchParams(c.ops[pattern].Path, req)
		if err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: check, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
		}); err != nil {
			t.Errorf("%s %s with %s was taken (%d), but api/openapi.json (%s %s) does not allow the request: %v",
				method, path, trim(sent), resp.StatusCode, route.Method, route.Path, err)
		}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(b)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		t.Errorf("%s %s answered %d %s\nwhich api/openapi.json (%s %s) does not allow: %v", method, path, resp.StatusCode, trim(b), route.Method, route.Path, err)
	}
	c.mu.Lock()
	c.seen[pattern] = append(c.seen[pattern], resp.StatusCode)
	c.mu.Unlock()
	return resp.StatusCode, b, resp.Header
}

// matchParams reads the path parameters of req by the description's
// path (a trailing {path} takes the rest).
func matchParams(docPath string, req *http.Request) (bool, map[string]string) {
	params := map[string]string{}
	want, got := strings.Split(docPath, "/"), strings.Split(req.URL.Path, "/")
	for i, seg := range want {
		if i >= len(got) {
			return false, params
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			if i == len(want)-1 && name == "path" {
				params[name] = strings.Join(got[i:], "/")
			} else {
				params[name] = got[i]
			}
		}
	}
	return true, params
}

func trim(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// expect fails unless code is one of the wanted.
func expect(t *testing.T, what string, code int, body []byte, wanted ...int) {
	t.Helper()
	if !slices.Contains(wanted, code) {
		t.Fatalf("%s: %d %s, want %v", what, code, trim(body), wanted)
	}
}

// samplePath fills a ServeMux pattern's wildcards with values that name
// nothing, for a request that must be refused.
func samplePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, strings.NewReplacer("{path...}", "output/x.txt", "{id}", "99999", "{name}", "nosuch",
		"{cap}", "nosuch", "{file}", "x.txt").Replace(path)
}

func (c *apiCheck) codes(pattern string) string { return fmt.Sprint(c.seen[pattern]) }

// TestOpenAPICatchesDrift: the check is strict enough to fail. A job
// with a field the description does not know, a job missing one, an
// error without its message and an undescribed code are each refused.
func TestOpenAPICatchesDrift(t *testing.T) {
	t.Parallel()
	c := newAPICheck(t, "http://example.invalid")
	route := c.ops["GET /api/v1/jobs/{id}"]
	req, _ := http.NewRequest("GET", "http://example.invalid/api/v1/jobs/1", nil)
	const job = `"id":1,"name":"n","owner":"o","service":"sleep","cpus":1,"priority":0,"state":"PENDING","reason":"",
		"attempt":1,"max_attempts":3,"worker":"","cancel_requested":false,"version":0,"keep":false,"disk_bytes":0,"cpu_seconds":0,
		"submitted":"2026-01-01T00:00:00Z","started":null`
	check := func(code int, body string) error {
		return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
			Status:                 code,
			Header:                 http.Header{"Content-Type": {"application/json"}},
			Body:                   io.NopCloser(strings.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		})
	}
	if err := check(200, "{"+job+`,"finished":null}`); err != nil {
		t.Fatalf("a well-formed job is refused: %v", err)
	}
	for _, bad := range []struct {
		code       int
		body, what string
	}{
		{200, "{" + job + `,"finished":null,"surprise":1}`, "an undescribed field"},
		{200, "{" + job + "}", "a missing field"},
		{200, "{" + strings.Replace(job, `"PENDING"`, `"SLEEPING"`, 1) + `,"finished":null}`, "an unknown state"},
		{404, `{"message":"no job"}`, "an error without \"error\""},
		{418, `{"error":"teapot"}`, "an undescribed code"},
	} {
		if check(bad.code, bad.body) == nil {
			t.Errorf("%s passes the check", bad.what)
		}
	}
}
