package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// browser is a plain HTTP client with a cookie jar: enough to check the
// rules of the pages (status codes, headers, CSRF) without a real browser.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// postMultipart posts a multipart form: fields, then files as (field,
// file name, content); it returns the answer and its body.
func (b *browser) postMultipart(path string, fields map[string]string, files [][3]string) (*http.Response, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile(f[0], f[1])
		io.WriteString(w, f[2])
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return resp, string(text)
}

func (b *browser) login(token string) {
	b.t.Helper()
	resp, _ := b.do("POST", "/ui/login", url.Values{"token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login: %s", resp.Status)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the form token from a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, page := b.do("GET", path, nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no csrf_token on %s", path)
	}
	return m[1]
}

func sleepJob(t *testing.T, c *client.Client, seconds float64) int64 {
	t.Helper()
	j, err := c.Submit(context.Background(), client.Submission{Service: "sleep", Spec: []byte(fmt.Sprintf(`{"seconds": %g}`, seconds))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func TestPagesRules(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice := env.User("alice", store.RoleUser)
	bob := env.User("bob", store.RoleUser)
	ctx := context.Background()
	bobJob := sleepJob(t, env.Client(bob), 0)

	b := newBrowser(t, env.URL)
	if resp, _ := b.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/jobs" {
		t.Errorf("GET / = %s to %q, want 303 to /ui/jobs", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", "/ui/jobs", nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login") {
		t.Errorf("signed out GET /ui/jobs = %s to %q, want a redirect to sign in", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("POST", "/ui/login", url.Values{"token": {"bst_wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad token: %s, want 401", resp.Status)
	}

	resp, _ := b.do("POST", "/ui/login", url.Values{"token": {alice}})
	var cookie string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "bumpserve_session=") {
			cookie = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/ui"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}

	// Another user's job is 404 on every page route, like one that never was.
	for _, path := range []string{"/ui/jobs/%d", "/ui/jobs/%d/events", "/ui/jobs/%d/files/output/sleep.txt",
		"/ui/jobs/%d/archive", "/ui/submit?from=%d"} {
		p := strings.Replace(path, "%d", itoa(bobJob), 1)
		if resp, _ := b.do("GET", p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("alice GET %s = %s, want 404", p, resp.Status)
		}
	}
	token := b.csrf("/ui/jobs")
	for _, path := range []string{"/ui/jobs/%d/cancel", "/ui/jobs/%d/delete"} {
		p := strings.Replace(path, "%d", itoa(bobJob), 1)
		if resp, _ := b.do("POST", p, url.Values{"csrf_token": {token}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("alice POST %s = %s, want 404", p, resp.Status)
		}
	}
	if _, err := env.Client(bob).Get(ctx, bobJob); err != nil {
		t.Errorf("bob's job after alice's attempts: %v", err)
	}

	// State-changing forms without a valid csrf_token are refused.
	id := sleepJob(t, env.Client(alice), 30)
	for _, form := range []url.Values{{}, {"csrf_token": {"forged"}}} {
		for _, p := range []string{"/ui/jobs/" + itoa(id) + "/cancel", "/ui/jobs/" + itoa(id) + "/delete", "/ui/submit", "/ui/logout"} {
			if resp, _ := b.do("POST", p, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %v = %s, want 403", p, form, resp.Status)
			}
		}
	}
	if j, err := env.Client(alice).Get(ctx, id); err != nil || j.CancelRequested || j.State == "CANCEL" {
		t.Errorf("job after refused forms: %+v, %v", j, err)
	}
	// With the token, the cancel goes through.
	if resp, _ := b.do("POST", "/ui/jobs/"+itoa(id)+"/cancel", url.Values{"csrf_token": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("cancel with token: %s", resp.Status)
	}
	testenv.Eventually(t, 10*time.Second, "job cancelled", func() bool {
		j, err := env.Client(alice).Get(ctx, id)
		return err == nil && j.State == "CANCEL"
	})

	// A native form with mistakes shows each beside its field.
	form := url.Values{"csrf_token": {token}, "kind": {"fit"}, "model": {"b1*x + b3"},
		"p0_name": {"b1"}, "p0_value": {"1"}, "p0_min": {"5"}, "p0_max": {"3"},
		"p1_name": {"b2"}, "p1_value": {"abc"}, "data": {"1 2\n2 4\n3 x"}, "steps": {"ten"}}
	resp, page := b.do("POST", "/ui/submit", form)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad fit form: %s, want 400", resp.Status)
	}
	for _, want := range []string{`id="p1-error"`, `value: &#34;abc&#34; is not a number`, `id="data-error"`,
		`data: line 3, column 2: &#34;x&#34; is not a number`, `id="steps-error"`} {
		if !strings.Contains(page, want) {
			t.Errorf("form errors lack %s", want)
		}
	}
	form.Set("p1_value", "2")
	form.Set("data", "1 2\n2 4\n3 6")
	form.Set("steps", "")
	_, page = b.do("POST", "/ui/submit", form)
	if !strings.Contains(page, `id="p0-error"`) || !strings.Contains(page, "min 5 is greater than max 3") {
		t.Errorf("the engine's parameter error is not beside its row:\n%s", grep(page, "error"))
	}
	form.Set("p0_min", "")
	form.Set("p0_max", "")
	_, page = b.do("POST", "/ui/submit", form)
	if !strings.Contains(page, `id="model-error"`) || !strings.Contains(page, `unknown name &#34;b3&#34;`) {
		t.Errorf("the model error is not beside the model:\n%s", grep(page, "error"))
	}

	// Sign out ends the session.
	if resp, _ := b.do("POST", "/ui/logout", url.Values{"csrf_token": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %s", resp.Status)
	}
	if resp, _ := b.do("GET", "/ui/jobs", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign out GET /ui/jobs = %s, want a redirect to sign in", resp.Status)
	}
}

func TestAdminPage(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice := env.User("alice", store.RoleUser)
	id := sleepJob(t, env.Client(alice), 0)
	testenv.Eventually(t, 10*time.Second, "the sleep job completes", func() bool {
		j, err := env.Client(alice).Get(context.Background(), id)
		return err == nil && j.State == "COMPLETE"
	})

	b := newBrowser(t, env.URL)
	b.login(alice)
	// Pages the browser test does not visit still render.
	for path, want := range map[string]string{
		"/ui/jobs/" + itoa(id):   `<pre class="raw">`, // a result of another shape, as JSON
		"/ui/submit?kind=bumps":  `id="bumps-form"`,
		"/ui/no-such-page":       "There is no such page",
		"/ui/jobs?state=nothing": "unknown state",
	} {
		_, page := b.do("GET", path, nil)
		if !strings.Contains(page, want) {
			t.Errorf("GET %s lacks %q", path, want)
		}
	}
	// The admin page is no secret: a user is told it is for admins.
	if resp, page := b.do("GET", "/ui/admin", nil); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(page, "only for administrators") {
		t.Errorf("a user's GET /ui/admin = %s, want 403 saying it is for administrators:\n%s", resp.Status, page)
	}
	a := newBrowser(t, env.URL)
	a.login(env.AdminToken)
	resp, page := a.do("GET", "/ui/admin", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin page: %s", resp.Status)
	}
	for _, want := range []string{"Local slots: 1", `href="/ui/jobs?owner=alice"`} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// grep returns the lines of s that contain sub, for failure messages.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

// TestCancelReceived holds a job ACTIVE under a fake executor, which
// learns of a cancel only at its next heartbeat, and checks that the page
// after the cancel form already says the cancel was received.
func TestCancelReceived(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	alice := env.User("alice", store.RoleUser)
	id := sleepJob(t, env.Client(alice), 60)
	js, err := env.C.Queue.Claim(context.Background(), queue.ClaimRequest{Worker: "fake", FreeCPUs: 1, Max: 1})
	if err != nil || len(js) != 1 || js[0].ID != id {
		t.Fatalf("claim: %v, %v", js, err)
	}
	b := newBrowser(t, env.URL)
	b.login(alice)
	token := b.csrf("/ui/jobs/" + itoa(id))
	resp, _ := b.do("POST", "/ui/jobs/"+itoa(id)+"/cancel", url.Values{"csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %s", resp.Status)
	}
	_, page := b.do("GET", resp.Header.Get("Location"), nil)
	// Without JavaScript the page of a live job refreshes itself.
	for _, want := range []string{`<span id="cancel-status">Cancel requested`, `id="cancel" disabled`, `>ACTIVE</span>`,
		`<noscript><meta http-equiv="refresh" content="3"></noscript>`} {
		if !strings.Contains(page, want) {
			t.Errorf("job page after cancel lacks %s:\n%s", want, grep(page, "cancel"))
		}
	}
}

// TestUpload submits a native fit with an uploaded data file (its columns
// inferred) and a Bumps form without its model script.
func TestUpload(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice := env.User("alice", store.RoleUser)
	b := newBrowser(t, env.URL)
	b.login(alice)
	token := b.csrf("/ui/submit")

	post := func(fields map[string]string, files map[string]string) (*http.Response, string) {
		var list [][3]string
		for field, content := range files {
			name, data, _ := strings.Cut(content, ":")
			list = append(list, [3]string{field, name, data})
		}
		return b.postMultipart("/ui/submit", fields, list)
	}
	resp, page := post(map[string]string{"csrf_token": token, "kind": "fit", "model": "m*x + q",
		"p0_name": "m", "p0_value": "1", "p1_name": "q", "p1_value": "0"},
		map[string]string{"datafile": "line.dat:# x y dy\n1 3 0.1\n2 5 0.1\n3 7.1 0.1\n4 9 0.1\n"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload fit: %s\n%s", resp.Status, grep(page, "error"))
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(resp.Header.Get("Location"), "?")[0], "/ui/jobs/"), 10, 64)
	j, err := env.Client(alice).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Datasets []struct {
			File    string   `json:"file"`
			Columns []string `json:"columns"`
		} `json:"datasets"`
	}
	json.Unmarshal(j.Spec, &spec)
	if len(spec.Datasets) != 1 || spec.Datasets[0].File != "line.dat" || strings.Join(spec.Datasets[0].Columns, " ") != "x y dy" {
		t.Errorf("spec %s", j.Spec)
	}
	testenv.Eventually(t, 20*time.Second, "the uploaded fit completes", func() bool {
		j, err := env.Client(alice).Get(context.Background(), id)
		return err == nil && j.State == "COMPLETE"
	})
	_, page = b.do("GET", "/ui/jobs/"+itoa(id), nil)
	if !strings.Contains(page, `href="/ui/jobs/`+itoa(id)+`/files/input/line.dat"`) {
		t.Errorf("job page does not link the uploaded file")
	}
	resp, _ = b.do("GET", "/ui/jobs/"+itoa(id)+"/files/output/fit.svg", nil)
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("an SVG served to the pages lacks the safe headers: %v", resp.Header)
	}
	resp, zipped := b.do("GET", "/ui/jobs/"+itoa(id)+"/archive", nil)
	if zr, err := zip.NewReader(strings.NewReader(zipped), int64(len(zipped))); err != nil || resp.StatusCode != 200 {
		t.Errorf("archive: %s, %v", resp.Status, err)
	} else if names := zipNames(zr); !strings.Contains(names, "input/line.dat") || !strings.Contains(names, "output/results.json") {
		t.Errorf("archive holds %s", names)
	}

	// A data file the fit could not read is refused, naming file, line
	// and column, beside the data box that now holds its text.
	resp, page = post(map[string]string{"csrf_token": token, "kind": "fit", "model": "m*x + q",
		"p0_name": "m", "p0_value": "1", "p1_name": "q", "p1_value": "0"},
		map[string]string{"datafile": "bad.dat:1 3 0.1\n2 abc 0.1\n"})
	if want := `bad.dat line 2, column 2: &#34;abc&#34; is not a number`; resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(grep(page, `id="data-error"`), want) || !strings.Contains(page, "2 abc 0.1\n</textarea>") {
		t.Errorf("bad data file: %s, want 400 with %s beside the data, kept as text\n%s", resp.Status, want, grep(page, "error"))
	}

	resp, page = post(map[string]string{"csrf_token": token, "kind": "bumps", "fitter": "dream", "samples": "many"}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="model-error"`) || !strings.Contains(page, `id="samples-error"`) {
		t.Errorf("bumps form without a model: %s\n%s", resp.Status, grep(page, "error"))
	}
}

func zipNames(zr *zip.Reader) string {
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return strings.Join(out, " ")
}

// TestListPagingAndDelete pages through a user's jobs with filters and
// deletes one through its form.
func TestListPagingAndDelete(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0}) // jobs stay PENDING
	alice := env.User("alice", store.RoleUser)
	var ids []int64
	for range 30 {
		ids = append(ids, sleepJob(t, env.Client(alice), 0))
	}
	b := newBrowser(t, env.URL)
	b.login(alice)
	rows := regexp.MustCompile(`<tr data-job-id="(\d+)"`)
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	_, page := b.do("GET", "/ui/jobs?state=pending&service=sleep", nil)
	first := rows.FindAllStringSubmatch(page, -1)
	m := next.FindStringSubmatch(page)
	if len(first) != 25 || first[0][1] != itoa(ids[29]) || m == nil {
		t.Fatalf("first page: %d rows from %v, next %v", len(first), first[0], m)
	}
	_, page = b.do("GET", strings.ReplaceAll(m[1], "&amp;", "&"), nil)
	second := rows.FindAllStringSubmatch(page, -1)
	if len(second) != 5 || second[4][1] != itoa(ids[0]) || next.MatchString(page) {
		t.Errorf("second page: %d rows, next link %v", len(second), next.MatchString(page))
	}
	if _, page = b.do("GET", "/ui/jobs?state=complete", nil); len(rows.FindAllString(page, -1)) != 0 {
		t.Errorf("COMPLETE filter shows PENDING jobs")
	}

	token := b.csrf("/ui/jobs/" + itoa(ids[0]))
	resp, _ := b.do("POST", "/ui/jobs/"+itoa(ids[0])+"/delete", url.Values{"csrf_token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %s", resp.Status)
	}
	if resp, _ := b.do("GET", "/ui/jobs/"+itoa(ids[0]), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted job page: %s, want 404", resp.Status)
	}
	if _, err := env.Client(alice).Get(context.Background(), ids[0]); !client.IsNotFound(err) {
		t.Errorf("deleted job over the API: %v", err)
	}
}

// A DREAM fit too short to converge completes, and its page says so
// beside the intervals, with each parameter's R-hat and ESS.
func TestUnconvergedWarning(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice := env.User("alice", store.RoleUser)
	c := env.Client(alice)
	spec := `{"fitter": "dream", "options": {"samples": 100, "seed": 4}, "parameters": {"a": {"value": 1, "min": 0, "max": 5}},
		"datasets": [{"model": "a*x", "x": [1, 2, 3], "y": [1.1, 1.9, 3.2], "dy": [0.1, 0.1, 0.1]}]}`
	j, err := c.Submit(context.Background(), client.Submission{Service: "fit", Spec: []byte(spec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the fit completes", func() bool {
		j, err := c.Get(context.Background(), j.ID)
		return err == nil && j.State == "COMPLETE"
	})
	b := newBrowser(t, env.URL)
	b.login(alice)
	_, page := b.do("GET", "/ui/jobs/"+itoa(j.ID), nil)
	for _, want := range []string{`id="not-converged" class="warning" role="alert"`, "DREAM has not converged", `<td class="rhat">`, `<td class="ess">`} {
		if !strings.Contains(page, want) {
			t.Errorf("job page lacks %s:\n%s", want, grep(page, "converge"))
		}
	}
	if i, k := strings.Index(page, `id="not-converged"`), strings.Index(page, `id="params"`); i < 0 || k < 0 || i > k {
		t.Errorf("the warning is not shown before the intervals")
	}
}
