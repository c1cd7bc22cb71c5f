package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// send makes one request with extra headers and returns status, body, headers.
func send(t *testing.T, method, url string, headers map[string]string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// unprefixed finds site-absolute links in a page that miss the base path.
var unprefixed = regexp.MustCompile(`(?:href|src|action|data-events)="/(?:ui|api)/`)

// TestBasePath serves everything under /queue: API, old routes, pages
// with their links, redirects and cookie, files and event streams; only
// /healthz also answers at the root.
func TestBasePath(t *testing.T) {
	env := testenv.Start(t, controller.Config{Workers: 1, Front: server.Front{BasePath: "/queue"}})
	root, base := env.URL, env.URL+"/queue"
	alice := env.User("alice", store.RoleUser)
	bearer := map[string]string{"Authorization": "Bearer " + alice}

	for _, p := range []string{root + "/healthz", base + "/healthz"} {
		if code, body, _ := send(t, "GET", p, nil, nil); code != 200 {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	code, body, _ := send(t, "GET", root+"/api/v1/jobs", bearer, nil)
	wantError(t, code, []byte(body), 404, "/queue/")
	if code, body, _ := send(t, "GET", root+"/queuex/api/v1/jobs", bearer, nil); code != 404 {
		t.Errorf("a path that only starts like the base path: %d %s", code, body)
	}

	// The API: submit, the created job's Location, events, files.
	code, body, hdr := send(t, "POST", base+"/api/v1/jobs", map[string]string{"Authorization": "Bearer " + alice, "Content-Type": "application/json"},
		strings.NewReader(`{"name": "nap", "service": "sleep", "spec": {"seconds": 0.2}}`))
	if code != 201 {
		t.Fatalf("submit under the base path: %d %s", code, body)
	}
	var j struct{ ID int64 }
	json.Unmarshal([]byte(body), &j)
	if want := fmt.Sprintf("/queue/api/v1/jobs/%d", j.ID); hdr.Get("Location") != want {
		t.Errorf("Location %q, want %q", hdr.Get("Location"), want)
	}
	cl, err := client.New(base, alice, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, base, alice, j.ID, "COMPLETE")
	if got, err := cl.Get(context.Background(), j.ID); err != nil || got.State != "COMPLETE" {
		t.Fatalf("the Go client under the base path: %v %v", got, err)
	}
	files, err := cl.Files(context.Background(), j.ID)
	if err != nil || len(files) == 0 {
		t.Fatalf("files: %v %v", files, err)
	}
	if code, _, _ := send(t, "GET", base+"/api/v1/jobs/"+fmt.Sprint(j.ID)+"/files/"+files[0].Path, bearer, nil); code != 200 {
		t.Errorf("download %s: %d", files[0].Path, code)
	}

	// A copy (groups.go) is created under the base path too.
	code, body, hdr = send(t, "POST", base+fmt.Sprintf("/api/v1/jobs/%d/copy", j.ID), bearer, nil)
	if code != 201 || !strings.HasPrefix(hdr.Get("Location"), "/queue/api/v1/jobs/") {
		t.Errorf("copy under the base path: %d to %q %s", code, hdr.Get("Location"), body)
	}

	// The old routes, with the token as the basic-auth password.
	req, _ := http.NewRequest("GET", base+"/jobs.json", nil)
	req.SetBasicAuth("alice", alice)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("old route /queue/jobs.json: %v %v", resp.Status, err)
	}

	// The pages: redirects, sign-in cookie, links.
	for from, to := range map[string]string{"/queue/": "/queue/ui/jobs", "/queue": "/queue/ui/jobs", "/queue/ui/jobs": "/queue/ui/login?next=%2Fui%2Fjobs"} {
		if code, _, h := send(t, "GET", root+from, nil, nil); code != 303 || h.Get("Location") != to {
			t.Errorf("GET %s: %d to %q, want 303 to %q", from, code, h.Get("Location"), to)
		}
	}
	code, body, hdr = send(t, "POST", base+"/ui/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(url.Values{"token": {alice}, "next": {"/ui/submit"}}.Encode()))
	if code != 303 || hdr.Get("Location") != "/queue/ui/submit" {
		t.Fatalf("sign in: %d to %q, want 303 to /queue/ui/submit (%s)", code, hdr.Get("Location"), body)
	}
	cookie := hdr.Get("Set-Cookie")
	if !strings.Contains(cookie, "Path=/queue/ui;") {
		t.Errorf("session cookie %q is not for /queue/ui", cookie)
	}
	session := map[string]string{"Cookie": strings.Split(cookie, ";")[0]}
	for _, page := range []string{"/ui/jobs", "/ui/jobs?shared=1", fmt.Sprintf("/ui/jobs/%d", j.ID), "/ui/submit"} {
		code, body, _ := send(t, "GET", base+page, session, nil)
		if code != 200 {
			t.Fatalf("page %s: %d", page, code)
		}
		if m := unprefixed.FindAllString(body, -1); len(m) > 0 {
			t.Errorf("page %s has links without the base path: %q", page, m)
		}
		if !strings.Contains(body, `href="/queue/ui/static/style.css"`) {
			t.Errorf("page %s does not load its style from under the base path", page)
		}
	}
	// The admin's pages too, and the list's event stream.
	code, _, hdr = send(t, "POST", base+"/ui/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(url.Values{"token": {env.AdminToken}}.Encode()))
	admin := map[string]string{"Cookie": strings.Split(hdr.Get("Set-Cookie"), ";")[0]}
	if code, body, _ := send(t, "GET", base+"/ui/admin", admin, nil); code != 200 || unprefixed.MatchString(body) {
		t.Errorf("admin page under the base path: %d, unprefixed links %q", code, unprefixed.FindAllString(body, -1))
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(sctx, "GET", base+"/ui/jobs/events", nil)
	req.Header.Set("Cookie", session["Cookie"])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("the job list's event stream under the base path: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if code, _, _ := send(t, "GET", base+"/ui/static/style.css", nil, nil); code != 200 {
		t.Errorf("style sheet under the base path: %d", code)
	}
	if code, _, _ := send(t, "GET", fmt.Sprintf("%s/ui/jobs/%d/archive", base, j.ID), session, nil); code != 200 {
		t.Errorf("archive download under the base path: %d", code)
	}
}

// waitEvent reads a job's event stream until it reports state.
func waitEvent(t *testing.T, base, token string, id int64, state string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/jobs/%d/events", base, id), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data:") && strings.Contains(sc.Text(), `"`+state+`"`) {
			return
		}
	}
	t.Fatalf("event stream ended without %s: %v", state, sc.Err())
}

// TestForwardedHeaders: a trusted proxy's X-Forwarded-* are believed (a
// Secure cookie behind TLS at the proxy); the same headers from anyone
// else are refused, naming the header and the address.
func TestForwardedHeaders(t *testing.T) {
	trusted, _ := server.ParseProxies("127.0.0.0/8")
	env := testenv.Start(t, controller.Config{Front: server.Front{TrustedProxies: trusted}})
	alice := env.User("alice", store.RoleUser)
	form := strings.NewReader(url.Values{"token": {alice}}.Encode())
	code, _, hdr := send(t, "POST", env.URL+"/ui/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Forwarded-Proto": "https", "X-Forwarded-Host": "fit.example.org", "X-Forwarded-For": "192.0.2.7",
		"Origin": "https://fit.example.org"}, form)
	if code != 303 || !strings.Contains(hdr.Get("Set-Cookie"), "Secure") {
		t.Errorf("sign in through a TLS proxy: %d, cookie %q, want 303 with a Secure cookie", code, hdr.Get("Set-Cookie"))
	}

	other, _ := server.ParseProxies("10.0.0.0/8")
	env2 := testenv.Start(t, controller.Config{Front: server.Front{TrustedProxies: other}})
	bob := env2.User("bob", store.RoleUser)
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} {
		code, body, _ := send(t, "GET", env2.URL+"/api/v1/whoami", map[string]string{"Authorization": "Bearer " + bob, h: "https"}, nil)
		wantError(t, code, []byte(body), 403, h, "127.0.0.1", "not a trusted proxy")
	}
	if code, body, _ := send(t, "GET", env2.URL+"/api/v1/whoami", map[string]string{"Authorization": "Bearer " + bob}, nil); code != 200 {
		t.Errorf("without forwarding headers: %d %s", code, body)
	}
}

// TestRemoteUser: the site's login in front names the user in
// X-Remote-User; from a trusted proxy that user is signed in for the API
// and the pages (created on first sight with AutoCreateUsers), tokens
// still decide when sent, and from any other address the header is
// refused and nobody is created.
func TestRemoteUser(t *testing.T) {
	loopback, _ := server.ParseProxies("127.0.0.1")
	env := testenv.Start(t, controller.Config{Front: server.Front{
		TrustedProxies: loopback, RemoteUserHeader: "X-Remote-User", AutoCreateUsers: true}})
	whoami := func(env *testenv.Env, hdr map[string]string) (int, string) {
		code, body, _ := send(t, "GET", env.URL+"/api/v1/whoami", hdr, nil)
		return code, body
	}
	for range 2 { // created the first time, found the second
		code, body := whoami(env, map[string]string{"X-Remote-User": "carol"})
		if code != 200 || !strings.Contains(body, `"carol"`) {
			t.Fatalf("whoami as carol through the proxy: %d %s", code, body)
		}
	}
	if code, body, _ := send(t, "GET", env.URL+"/ui/jobs", map[string]string{"X-Remote-User": "carol"}, nil); code != 200 || !strings.Contains(body, "carol") {
		t.Errorf("the jobs page for carol through the proxy: %d", code)
	}
	dave := env.User("dave", store.RoleUser)
	if code, body := whoami(env, map[string]string{"X-Remote-User": "carol", "Authorization": "Bearer " + dave}); code != 200 || !strings.Contains(body, `"dave"`) {
		t.Errorf("a token beside the header: %d %s, want the token's user", code, body)
	}
	code, body := whoami(env, map[string]string{"X-Remote-User": "bad name!"})
	wantError(t, code, []byte(body), 403, "bad name!")

	// Without auto-creation a stranger is refused, naming the fix.
	env2 := testenv.Start(t, controller.Config{Front: server.Front{TrustedProxies: loopback, RemoteUserHeader: "X-Remote-User"}})
	code, body = whoami(env2, map[string]string{"X-Remote-User": "erin"})
	wantError(t, code, []byte(body), 403, "erin", "bumpserve user add", "--auto-create-users")

	// From an address that is not a trusted proxy: refused, nobody created.
	elsewhere, _ := server.ParseProxies("192.0.2.0/24")
	env3 := testenv.Start(t, controller.Config{Front: server.Front{
		TrustedProxies: elsewhere, RemoteUserHeader: "X-Remote-User", AutoCreateUsers: true}})
	admin := env3.AdminToken
	code, body = whoami(env3, map[string]string{"X-Remote-User": "admin"})
	wantError(t, code, []byte(body), 403, "X-Remote-User", "127.0.0.1", "not a trusted proxy")
	code, body = whoami(env3, map[string]string{"X-Remote-User": "mallory", "Authorization": "Bearer " + admin})
	wantError(t, code, []byte(body), 403, "X-Remote-User")
	if code, _, _ := send(t, "GET", env3.URL+"/ui/jobs", map[string]string{"X-Remote-User": "admin"}, nil); code != 403 {
		t.Errorf("a page with the header from an untrusted address: %d, want 403", code)
	}
	if _, err := env3.C.Store.GetUser(context.Background(), "mallory"); err == nil {
		t.Error("a user was created from an untrusted address")
	}
}

func TestFrontChecks(t *testing.T) {
	for _, tc := range []struct {
		front server.Front
		want  string // "" for accepted
	}{
		{server.Front{BasePath: "/queue"}, ""},
		{server.Front{BasePath: "/queue/"}, ""},
		{server.Front{BasePath: "/a/b-c_d.e"}, ""},
		{server.Front{BasePath: "queue"}, `base-path: "queue" must start with a slash`},
		{server.Front{BasePath: "/a//b"}, "base-path"},
		{server.Front{BasePath: "/a/../b"}, "base-path"},
		{server.Front{BasePath: "/a?b"}, "base-path"},
		{server.Front{RemoteUserHeader: "X-Remote-User"}, "remote-user-header: needs --trusted-proxies"},
		{server.Front{RemoteUserHeader: "X Remote", TrustedProxies: server.Proxies{netip.MustParsePrefix("127.0.0.1/32")}}, "not a header name"},
		{server.Front{AutoCreateUsers: true}, "auto-create-users: needs --remote-user-header"},
	} {
		err := tc.front.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.front, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error with %q", tc.front, err, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0/8", "1.2.3.4/8/"} {
		if _, err := server.ParseProxies(bad); err == nil || !strings.Contains(err.Error(), "trusted-proxies: ") || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseProxies(%q): %v", bad, err)
		}
	}
	p, err := server.ParseProxies(" 127.0.0.1, 10.1.2.3/8 ,::1/128")
	if err != nil || p.String() != "127.0.0.1/32,10.0.0.0/8,::1/128" {
		t.Errorf("ParseProxies: %v %v", p, err)
	}
	if !p.Trusts(netip.MustParseAddr("::ffff:10.9.9.9")) || p.Trusts(netip.MustParseAddr("192.0.2.1")) {
		t.Error("Trusts")
	}
}
