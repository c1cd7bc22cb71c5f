package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// call sends one raw HTTP request and returns status and body.
func call(t *testing.T, method, url, token, ctype string, body io.Reader) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// wantError checks a JSON error answer and that its message mentions each word.
func wantError(t *testing.T, code int, body []byte, wantCode int, words ...string) {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("answer %d %s is not a JSON error", code, body)
	}
	if code != wantCode {
		t.Fatalf("status %d (%s), want %d", code, e.Error, wantCode)
	}
	for _, w := range words {
		if !strings.Contains(e.Error, w) {
			t.Errorf("error %q does not mention %q", e.Error, w)
		}
	}
}

func waitState(t *testing.T, cl *client.Client, id int64, timeout time.Duration, states ...job.State) *client.Job {
	t.Helper()
	var j *client.Job
	testenv.Eventually(t, timeout, fmt.Sprintf("job %d reaches %v", id, states), func() bool {
		var err error
		j, err = cl.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if j.State == s {
				return true
			}
		}
		return false
	})
	return j
}

func TestSubmitRunResults(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 2})
	ctx := context.Background()

	code, body, hdr := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, "application/json",
		strings.NewReader(`{"name":"nap","service":"sleep","spec":{"seconds":2,"message":"hello"}}`))
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, body)
	}
	var j client.Job
	json.Unmarshal(body, &j)
	if j.ID == 0 || j.State != job.Pending || j.Name != "nap" || j.Owner != "admin" || j.Attempt != 1 {
		t.Fatalf("submitted job = %s", body)
	}
	if hdr.Get("Location") != fmt.Sprintf("/api/v1/jobs/%d", j.ID) {
		t.Errorf("Location = %q", hdr.Get("Location"))
	}

	cl := env.Client(env.AdminToken)
	var sawActive, sawProgress bool
	final, err := cl.Watch(ctx, j.ID, func(s *client.Job) error {
		sawActive = sawActive || s.State == job.Active
		sawProgress = sawProgress || (s.Progress != nil && s.Progress.Step > 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.State != job.Complete || final.Started == nil || final.Finished == nil || final.Worker == "" {
		t.Fatalf("final = %+v", final)
	}
	if !sawActive || !sawProgress {
		t.Errorf("event stream showed active=%v progress=%v", sawActive, sawProgress)
	}
	res, err := cl.Results(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Slept   float64
		Message string
	}
	json.Unmarshal(res, &r)
	if r.Slept < 2 || r.Message != "hello" {
		t.Errorf("results = %s", res)
	}
	files, err := cl.Files(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]int64{}
	for _, f := range files {
		paths[f.Path] = f.Size
	}
	if paths["output/sleep.txt"] == 0 || paths["output/job.log"] == 0 {
		t.Fatalf("files = %v", files)
	}
	code, body, hdr = call(t, "GET", env.URL+fmt.Sprintf("/api/v1/jobs/%d/files/output/sleep.txt", j.ID), env.AdminToken, "", nil)
	if code != 200 || !strings.HasPrefix(string(body), "slept ") {
		t.Fatalf("file: %d %q", code, body)
	}
	if hdr.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(hdr.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("file headers = %v", hdr)
	}
	// The archive holds exactly the listed files, byte for byte, with
	// their real modification times.
	code, body, hdr = call(t, "GET", env.URL+fmt.Sprintf("/api/v1/jobs/%d/archive", j.ID), env.AdminToken, "", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("archive: %d %s", code, hdr)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(files) {
		t.Errorf("archive holds %d files, the listing %d", len(zr.File), len(files))
	}
	for _, zf := range zr.File {
		if paths[zf.Name] != int64(zf.UncompressedSize64) || zf.Modified.Year() < 2000 {
			t.Errorf("archive entry %s: %d bytes, modified %v; listed %d bytes", zf.Name, zf.UncompressedSize64, zf.Modified, paths[zf.Name])
		}
	}
	for _, bad := range []string{"output/../input", "output/nope.txt", "..%2F..%2Fbumpserve.db", "bumpserve.db", "output"} {
		code, body, _ := call(t, "GET", env.URL+fmt.Sprintf("/api/v1/jobs/%d/files/%s", j.ID, bad), env.AdminToken, "", nil)
		wantError(t, code, body, 404)
	}
}

func TestFailureCarriesMessage(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 1})
	cl := env.Client(env.AdminToken)
	j, err := cl.Submit(context.Background(), client.Submission{Service: "sleep",
		Spec: json.RawMessage(`{"seconds":0,"fail":true,"message":"model exploded"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := waitState(t, cl, j.ID, 10*time.Second, job.Error)
	if got.Reason != "model exploded" {
		t.Errorf("reason = %q", got.Reason)
	}
	code, body, _ := call(t, "GET", fmt.Sprintf("%s/api/v1/jobs/%d/results", env.URL, j.ID), env.AdminToken, "", nil)
	wantError(t, code, body, http.StatusConflict, "ERROR")
}

// submissionParts is a multipart submission: a "job" part (left out when
// jobDoc is "") and a "file" part per file, by name.
func submissionParts(jobDoc string, files map[string]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if jobDoc != "" {
		w, _ := mw.CreateFormField("job")
		w.Write([]byte(jobDoc))
	}
	for name, content := range files {
		w, _ := mw.CreateFormFile("file", name)
		w.Write([]byte(content))
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestMultipartUpload(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0, Server: server.Config{MaxUpload: 1 << 20}})
	cl := env.Client(env.AdminToken)

	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	os.WriteFile(data, []byte("1 2 3\n"), 0o644)
	j, err := cl.Submit(context.Background(), client.Submission{Service: "sleep", Spec: json.RawMessage(`{}`)},
		[]client.Upload{{Path: data}, {Name: "sub/more.txt", Path: data}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"data.txt", "sub/more.txt"} {
		b, err := os.ReadFile(filepath.Join(env.Data, "jobs", fmt.Sprint(j.ID), "input", name))
		if err != nil || string(b) != "1 2 3\n" {
			t.Errorf("input/%s = %q, %v", name, b, err)
		}
	}

	doc := `{"service":"sleep","spec":{}}`
	for _, tc := range []struct {
		name  string
		doc   string
		files map[string]string
		code  int
		words []string
	}{
		{"traversal", doc, map[string]string{"../escape.txt": "x"}, 400, []string{"..", "file"}},
		{"absolute", doc, map[string]string{"/etc/passwd": "x"}, 400, []string{"absolute"}},
		{"inner dots", doc, map[string]string{"a/../../b": "x"}, 400, []string{".."}},
		{"backslash", doc, map[string]string{`a\b`: "x"}, 400, []string{"backslash"}},
		{"no job part", "", map[string]string{"a.txt": "x"}, 400, []string{"job"}},
		{"too large", doc, map[string]string{"big.bin": strings.Repeat("x", 2<<20)}, 413, nil},
		{"bad spec", `{"service":"sleep","spec":{"seconds":"soon"}}`, map[string]string{"a.txt": "x"}, 400, []string{"seconds"}},
	} {
		ctype, body := submissionParts(tc.doc, tc.files)
		code, ans, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, ctype, body)
		t.Run(tc.name, func(t *testing.T) { wantError(t, code, ans, tc.code, tc.words...) })
	}
	// Nothing refused left a job or a file behind.
	list, err := cl.List(context.Background(), client.ListOptions{})
	if err != nil || len(list.Jobs) != 1 {
		t.Fatalf("jobs after refused uploads = %d, %v", len(list.Jobs), err)
	}
	ents, _ := os.ReadDir(filepath.Join(env.Data, "jobs"))
	if len(ents) != 1 {
		t.Errorf("job dirs = %d, want 1", len(ents))
	}
	testenv.Eventually(t, 5*time.Second, "staging dirs removed", func() bool {
		ents, _ := os.ReadDir(filepath.Join(env.Data, "tmp"))
		return len(ents) == 0
	})
	if _, err := os.Stat(filepath.Join(env.Data, "escape.txt")); err == nil {
		t.Error("a traversal upload escaped the job")
	}
}

func TestBadSubmissions(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0, Server: server.Config{MaxJSON: 1024}})
	post := func(body string) (int, []byte) {
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", env.AdminToken, "application/json", strings.NewReader(body))
		return code, b
	}
	for _, tc := range []struct {
		body  string
		code  int
		words []string
	}{
		{`{"service":"nope"}`, 400, []string{"service", "nope", "sleep"}},
		{`{"spec":{}}`, 400, []string{"service", "missing"}},
		{`{"service":"sleep","spec":{"seconds":-1}}`, 400, []string{"spec.seconds"}},
		{`{"service":"sleep","spec":{"secs":1}}`, 400, []string{"spec", "secs"}},
		{`{"service":"sleep","spec":[1]}`, 400, []string{"spec"}},
		{`{"service":"sleep","colour":"red"}`, 400, []string{"colour"}},
		{`{"service":"sleep","spec":{"limits":{"wall_seconds":1e9}}}`, 400, []string{"spec.limits.wall_seconds", "cap"}},
		{`{"service":"sleep","spec":{"resources":{"cpus":1000}}}`, 400, []string{"spec.resources.cpus"}},
		{`{"service":"sleep","priority":1000}`, 400, []string{"priority"}},
		{`{"service":"sleep","name":"a\u001b[2J\nforged"}`, 400, []string{"name", "control characters"}},
		{`{"service":"sleep","name":"x\u202egpj.exe"}`, 400, []string{"name", "direction"}},
		{`not json`, 400, []string{"JSON"}},
		{`{"service":"sleep","name":"` + strings.Repeat("x", 2000) + `"}`, 413, nil},
	} {
		code, b := post(tc.body)
		wantError(t, code, b, tc.code, tc.words...)
	}
	code, b, _ := call(t, "GET", env.URL+"/api/v1/jobs?state=SLEEPY", env.AdminToken, "", nil)
	wantError(t, code, b, 400, "state")
	code, b, _ = call(t, "GET", env.URL+"/api/v1/jobs?limit=0", env.AdminToken, "", nil)
	wantError(t, code, b, 400, "limit")
	code, b, _ = call(t, "GET", env.URL+"/api/v1/nothing", env.AdminToken, "", nil)
	wantError(t, code, b, 404)
}

func TestAuthAndVisibility(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	alice := env.User("alice", store.RoleUser)
	bob := env.User("bob", store.RoleUser)
	workerTok := env.User("w1", store.RoleWorker)
	ctx := context.Background()

	// The worker protocol names an unknown field by its path, as a job's
	// fields are named.
	code, b, _ := call(t, "POST", env.URL+"/api/v1/worker/claim", workerTok, "application/json",
		strings.NewReader(`{"name":"n1","free":1,"wait_seconds":0,"bogus":1}`))
	wantError(t, code, b, 400, "body.bogus: unknown field", "accepted: name, slots, free")

	code, b, _ = call(t, "GET", env.URL+"/api/v1/jobs", "", "", nil)
	wantError(t, code, b, 401, "token")
	code, b, _ = call(t, "GET", env.URL+"/api/v1/jobs", "bst_not-a-token", "", nil)
	wantError(t, code, b, 401)
	code, b, _ = call(t, "GET", env.URL+"/api/v1/jobs", workerTok, "", nil)
	wantError(t, code, b, 403, "worker")
	// Old clients send the token as a basic-auth password.
	req, _ := http.NewRequest("GET", env.URL+"/api/v1/jobs", nil)
	req.SetBasicAuth("alice", alice)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("basic auth: %v %v", resp.StatusCode, err)
	}

	j, err := env.Client(alice).Submit(ctx, client.Submission{Service: "sleep"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Bob cannot tell Alice's job from a job that does not exist.
	id := fmt.Sprint(j.ID)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/jobs/" + id}, {"GET", "/api/v1/jobs/" + id + "/results"},
		{"GET", "/api/v1/jobs/" + id + "/files"}, {"GET", "/api/v1/jobs/" + id + "/files/output/job.log"},
		{"GET", "/api/v1/jobs/" + id + "/archive"},
		{"GET", "/api/v1/jobs/" + id + "/events"}, {"POST", "/api/v1/jobs/" + id + "/cancel"},
		{"DELETE", "/api/v1/jobs/" + id},
	}
	for _, r := range routes {
		code, b, _ := call(t, r.method, env.URL+r.path, bob, "", nil)
		wantError(t, code, b, 404)
	}
	for _, bad := range []string{"abc", "0", "-1", "99999", "1.5", "1e3", "%20", "9223372036854775808"} {
		for _, r := range []string{"", "/results", "/files", "/archive", "/events", "/cancel"} {
			method := "GET"
			if r == "/cancel" {
				method = "POST"
			}
			code, b, _ := call(t, method, env.URL+"/api/v1/jobs/"+bad+r, alice, "", nil)
			wantError(t, code, b, 404)
		}
	}
	// Bob's listing does not show it; the admin's does.
	if l, _ := env.Client(bob).List(ctx, client.ListOptions{}); len(l.Jobs) != 0 {
		t.Errorf("bob sees %d jobs", len(l.Jobs))
	}
	if got, err := env.Client(env.AdminToken).Get(ctx, j.ID); err != nil || got.Owner != "alice" {
		t.Errorf("admin get = %v, %v", got, err)
	}
	// A revoked token stops working at once; a new one works at once.
	toks, _ := env.C.Store.ListTokens(ctx, "alice")
	if err := env.C.Store.RevokeToken(ctx, toks[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, b, _ = call(t, "GET", env.URL+"/api/v1/jobs", alice, "", nil)
	wantError(t, code, b, 401)
	fresh, err := controller.NewToken(ctx, env.C.Store, "alice", "second")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client(fresh).Get(ctx, j.ID); err != nil {
		t.Fatalf("new token: %v", err)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	cl := env.Client(env.AdminToken)
	ctx := context.Background()
	var ids []int64
	for range 5 {
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if _, err := cl.Cancel(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	opt := client.ListOptions{Limit: 2}
	for {
		page, err := cl.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Jobs {
			seen = append(seen, j.ID)
		}
		if page.Next == "" {
			break
		}
		opt.Before = page.Next
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("paged ids = %v", seen)
	}
	l, err := cl.List(ctx, client.ListOptions{State: "cancel"})
	if err != nil || len(l.Jobs) != 1 || l.Jobs[0].ID != ids[0] {
		t.Errorf("cancelled = %v, %v", l, err)
	}
	l, _ = cl.List(ctx, client.ListOptions{State: "PENDING", Service: "sleep"})
	if len(l.Jobs) != 4 {
		t.Errorf("pending = %d", len(l.Jobs))
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	env.Client(env.AdminToken).Submit(context.Background(), client.Submission{Service: "sleep"}, nil)
	code, body, _ := call(t, "GET", env.URL+"/healthz", "", "", nil)
	if code != 200 || !strings.Contains(string(body), "ok") {
		t.Errorf("healthz = %d %s", code, body)
	}
	code, body, _ = call(t, "GET", env.URL+"/metrics", "", "", nil)
	if code != 200 || !strings.Contains(string(body), `bumpserve_jobs{state="PENDING"} 1`) ||
		!strings.Contains(string(body), `bumpserve_http_requests_total{code="201",method="POST"} 1`) {
		t.Errorf("metrics = %d\n%s", code, body)
	}
}

// Per-user quotas: a user at the queued-jobs cap is refused (429), and
// another user is not affected.
func TestQueueQuota(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0, Server: server.Config{MaxQueued: 2}})
	alice := env.User("alice", store.RoleUser)
	post := func(tok string) (int, []byte) {
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", tok, "application/json", strings.NewReader(`{"service":"sleep"}`))
		return code, b
	}
	for range 2 {
		if code, b := post(alice); code != http.StatusCreated {
			t.Fatalf("submit: %d %s", code, b)
		}
	}
	code, b := post(alice)
	wantError(t, code, b, http.StatusTooManyRequests, "quota", "2")
	if code, b := post(env.AdminToken); code != http.StatusCreated {
		t.Errorf("another user's submit: %d %s", code, b)
	}
}

// A JSON array of jobs is one batch: 201 with the jobs in order, all or
// none accepted, an error naming the index of the job at fault.
func TestBatchSubmit(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0, Server: server.Config{MaxQueued: 5}})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)
	ctx := context.Background()
	js, err := cl.SubmitAll(ctx, []client.Submission{
		{Name: "a", Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)},
		{Name: "b", Service: "sleep"},
		{Name: "c", Service: "sleep", Priority: 5},
	})
	if err != nil || len(js) != 3 {
		t.Fatalf("submit 3 = %v, %v", js, err)
	}
	for i, name := range []string{"a", "b", "c"} {
		if js[i].Name != name || js[i].State != job.Pending || js[i].Owner != "alice" || (i > 0 && js[i].ID <= js[i-1].ID) {
			t.Errorf("job %d = %+v", i, js[i])
		}
	}
	queued := func() int {
		t.Helper()
		list, err := cl.List(ctx, client.ListOptions{State: "PENDING"})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Jobs)
	}
	post := func(body string) (int, []byte) {
		code, b, _ := call(t, "POST", env.URL+"/api/v1/jobs", alice, "application/json", strings.NewReader(body))
		return code, b
	}
	for _, tc := range []struct {
		body  string
		code  int
		words []string
	}{
		{`[{"service":"sleep"},{"service":"sleep","spec":{"seconds":-1}}]`, 400, []string{"jobs[1].spec.seconds"}},
		{`[{"service":"sleep"},{"service":"sleep","colour":"red"}]`, 400, []string{"jobs[1].colour"}},
		{`[{"service":"nope"}]`, 400, []string{"jobs[0].", "nope"}},
		{`[]`, 400, []string{"jobs", "empty"}},
		{`[1]`, 400, []string{"jobs[0]"}},
		// Quota: 3 queued of 5, so 3 more are too many, all refused.
		{`[{"service":"sleep"},{"service":"sleep"},{"service":"sleep"}]`, 429, []string{"quota"}},
	} {
		code, b := post(tc.body)
		wantError(t, code, b, tc.code, tc.words...)
		if n := queued(); n != 3 {
			t.Fatalf("after the refused batch %s: %d queued, want 3 (none of it accepted)", tc.body, n)
		}
	}
	code, b := post(` [{"service":"sleep"},{"service":"sleep"}]`)
	var two []client.Job
	if code != http.StatusCreated || json.Unmarshal(b, &two) != nil || len(two) != 2 {
		t.Fatalf("batch of 2 = %d %s", code, b)
	}
}
