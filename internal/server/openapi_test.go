package server_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// routesWithoutDescription are the server's routes that are no operation
// of the API, and why.
var routesWithoutDescription = map[string]string{
	"/api/": "the catch-all that answers 404 {\"error\"} for any unknown path under /api/",
}

// TestOpenAPI: api/openapi.json describes every route the server has (its
// route table, so a new route without a description fails here) and no
// other; every route gets real requests, and every answer, errors
// included, must be one the description allows. It also is what
// GET /api/v1/openapi.json serves.
//
// A new route: add its operation under "paths" in api/openapi.json
// (reusing components: the Error responses, Job, the id parameter), then
// a request that succeeds to the exercise functions below.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	// No local slots: this test is the only worker, over HTTP, so every
	// job is where the test puts it.
	env := testenv.Start(t, controller.Config{Workers: 0, Server: server.Config{Anonymous: true}})
	c := newAPICheck(t, env.URL)

	// The description and the route table name the same operations.
	described := map[string]bool{}
	for _, p := range c.Patterns() {
		described[p] = true
	}
	routes := env.C.Server.Routes()
	for _, r := range routes {
		if _, ok := routesWithoutDescription[r]; ok {
			continue
		}
		if !described[r] {
			t.Errorf("route %q has no operation in api/openapi.json", r)
		}
		delete(described, r)
	}
	for p := range described {
		t.Errorf("api/openapi.json describes %q, which the server does not route", p)
	}

	// Every route refuses a request with no token or naming nothing, with
	// an answer the description allows.
	for _, r := range routes {
		if _, ok := routesWithoutDescription[r]; ok {
			continue
		}
		method, path := samplePath(r)
		c.do(method, path, "", "application/json", strings.NewReader("{}"))
	}

	exerciseAPI(t, c, env)
	exerciseOldRoutes(t, c, env)
	exerciseAnonymous(t, c, env.User("anonfarm", store.RoleWorker))
	exerciseLongFits(t, c, env, env.User("carol", store.RoleUser))
	dora := env.User("dora", store.RoleUser)
	exerciseWorkerCheckpoints(t, c, dora, env.User("ckptfarm", store.RoleWorker))
	exerciseNotifications(t, c, env, dora)
	exerciseGroups(t, c, env)
	exerciseSeries(t, c, env, dora)

	// Every described operation answered at least once with success.
	for _, p := range c.Patterns() {
		ok := false
		for _, code := range c.seen[p] {
			ok = ok || code/100 == 2
		}
		if !ok {
			t.Errorf("%s: no successful answer was checked (codes seen: %s); add a request to this test", p, c.codes(p))
		}
	}
}

// decode unmarshals an answer the test needs a field of.
func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %s: %v", trim(b), err)
	}
	return v
}

type idOnly struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
}

// tarOf is a tar stream of the given files.
func tarOf(files map[string]string) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write([]byte(content))
	}
	tw.Close()
	return &buf
}

// completion is a worker's multipart completion: the result JSON, then
// an output tar.
func completion(result string, output map[string]string) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormField("result")
	w.Write([]byte(result))
	w, _ = mw.CreateFormFile("output", "output.tar")
	w.Write(tarOf(output).Bytes())
	mw.Close()
	return mw.FormDataContentType(), &buf
}

const sleepJob = `{"name":"nap","service":"sleep","spec":{"seconds":0}}`

// runAsWorker claims every pending job as worker "wk1" and completes
// each with an output file; it returns the ids run.
func runAsWorker(t *testing.T, c *apiCheck, workerTok string) []int64 {
	t.Helper()
	code, b, _ := c.do("POST", "/api/v1/worker/claim", workerTok, "application/json",
		strings.NewReader(`{"name":"wk1","slots":8,"free":8,"wait_seconds":0}`))
	expect(t, "claim", code, b, 200)
	claimed := decode[api.ClaimResponse](t, b)
	var ids []int64
	for _, j := range claimed.Jobs {
		ctype, body := completion(fmt.Sprintf(`{"token":%q,"state":"COMPLETE","result":{"ok":true}}`, j.LeaseToken), map[string]string{"out.txt": "done\n"})
		code, b := must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/complete", j.ID), workerTok, ctype, body))
		expect(t, "complete", code, b, 204)
		ids = append(ids, j.ID)
	}
	return ids
}

func must(code int, b []byte, _ http.Header) (int, []byte) { return code, b }

func exerciseAPI(t *testing.T, c *apiCheck, env *testenv.Env) {
	admin, alice := env.AdminToken, env.User("alice", store.RoleUser)
	wk := env.User("farm", store.RoleWorker)
	get := func(path, tok string, codes ...int) []byte {
		t.Helper()
		code, b := must(c.do("GET", path, tok, "", nil))
		expect(t, "GET "+path, code, b, codes...)
		return b
	}
	post := func(path, tok, body string, codes ...int) []byte {
		t.Helper()
		code, b := must(c.do("POST", path, tok, "application/json", strings.NewReader(body)))
		expect(t, "POST "+path, code, b, codes...)
		return b
	}

	get("/healthz", "", 200)
	get("/metrics", "", 200)
	served := get("/api/v1/openapi.json", "", 200)
	if !bytes.Equal(served, api.OpenAPI) {
		t.Errorf("GET /api/v1/openapi.json does not serve api/openapi.json")
	}
	get("/api/v1/whoami", alice, 200)
	get("/api/v1/whoami", wk, 403)

	// Submissions: JSON, multipart with a file, and refused ones.
	j1 := decode[idOnly](t, post("/api/v1/jobs", alice, sleepJob, 201))
	ctype, body := submissionParts(sleepJob, map[string]string{"data.txt": "1 2\n"})
	code, b := must(c.do("POST", "/api/v1/jobs", alice, ctype, body))
	expect(t, "multipart submit", code, b, 201)
	j2 := decode[idOnly](t, b)
	post("/api/v1/jobs", alice, `{"service":"nosuch","spec":{}}`, 400)
	// A batch: the array of jobs (cancelled at once, to leave the claim
	// below its two), or one error naming the index.
	for _, j := range decode[[]idOnly](t, post("/api/v1/jobs", alice, "["+sleepJob+","+sleepJob+"]", 201)) {
		post(fmt.Sprintf("/api/v1/jobs/%d/cancel", j.ID), alice, "", 200)
	}
	post("/api/v1/jobs", alice, "["+sleepJob+`,{"service":"nosuch","spec":{}}]`, 400)
	post("/api/v1/jobs", wk, sleepJob, 403)

	get("/api/v1/jobs", alice, 200)
	get("/api/v1/jobs?state=bogus", alice, 400)
	get(fmt.Sprintf("/api/v1/jobs/%d", j1.ID), alice, 200)
	get(fmt.Sprintf("/api/v1/jobs/%d/results", j1.ID), alice, 409)

	// The worker protocol, with this test as the worker.
	post("/api/v1/worker/claim", wk, `{"name":"wk1","free":-1}`, 400)
	claimed := decode[api.ClaimResponse](t, post("/api/v1/worker/claim", wk, `{"name":"wk1","slots":4,"free":4,"wait_seconds":0}`, 200))
	if len(claimed.Jobs) != 2 {
		t.Fatalf("claimed %d jobs, want 2", len(claimed.Jobs))
	}
	lease := map[int64]string{}
	for _, j := range claimed.Jobs {
		lease[j.ID] = j.LeaseToken
	}
	code, b, _ = c.send("GET", fmt.Sprintf("/api/v1/worker/jobs/%d/input", j2.ID), "", nil, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+wk)
		r.Header.Set("X-Lease-Token", lease[j2.ID])
	})
	expect(t, "input", code, b, 200)
	hb := fmt.Sprintf("/api/v1/worker/jobs/%d/heartbeat", j1.ID)
	post(hb, wk, fmt.Sprintf(`{"token":%q,"name":"wk1","progress":{"step":1,"updated":"2026-01-01T00:00:00Z"}}`, lease[j1.ID]), 200)
	post(hb, wk, `{"token":"wrong"}`, 409)
	post(hb, wk, `{"token":"x","bogus":1}`, 400)
	ctype, body = completion(fmt.Sprintf(`{"token":%q,"state":"COMPLETE","result":{"chisq":1}}`, lease[j1.ID]), map[string]string{"out.txt": "done\n"})
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/complete", j1.ID), wk, ctype, body))
	expect(t, "complete", code, b, 204)
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/complete", j1.ID), wk, "application/json", strings.NewReader("{}")))
	expect(t, "complete as JSON", code, b, 415)
	ctype, body = completion(fmt.Sprintf(`{"token":%q,"state":"ERROR","reason":"boom","next":{"name":"wk1","free":1}}`, lease[j2.ID]), map[string]string{"log.txt": "x\n"})
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/complete", j2.ID), wk, ctype, body))
	expect(t, "complete asking for the next job", code, b, 200)
	// The batched routes: heartbeats for several jobs (one lease lost),
	// completions with the next claim riding on them.
	j5 := decode[idOnly](t, post("/api/v1/jobs", alice, sleepJob, 201))
	claimed = decode[api.ClaimResponse](t, post("/api/v1/worker/claim", wk, `{"name":"wk1","slots":4,"free":4,"wait_seconds":0}`, 200))
	if len(claimed.Jobs) != 1 || claimed.Jobs[0].ID != j5.ID {
		t.Fatalf("claimed %d jobs, want job %d", len(claimed.Jobs), j5.ID)
	}
	tok5 := claimed.Jobs[0].LeaseToken
	post("/api/v1/worker/heartbeats", wk, fmt.Sprintf(`{"name":"wk1","jobs":[{"id":%d,"token":%q,"progress":{"step":2,"updated":"2026-01-01T00:00:00Z"}},{"id":%d,"token":"wrong"}]}`, j5.ID, tok5, j1.ID), 200)
	post("/api/v1/worker/heartbeats", wk, `{"name":"wk1","jobs":[{"id":1,"bogus":1}]}`, 400)
	post("/api/v1/worker/completions", wk, fmt.Sprintf(`{"name":"wk1","jobs":[{"id":%d,"token":%q,"state":"COMPLETE","reason":"","result":{"chisq":1}}],"next":{"name":"wk1","free":1}}`, j5.ID, tok5), 200)
	post("/api/v1/worker/completions", wk, `{"name":"wk1","jobs":[{"id":1,"token":"x","state":"RUNNING"}]}`, 400)
	j3 := decode[idOnly](t, post("/api/v1/jobs", alice, sleepJob, 201))
	claimed = decode[api.ClaimResponse](t, post("/api/v1/worker/claim", wk, `{"name":"wk1","slots":4,"free":4}`, 200))
	post(fmt.Sprintf("/api/v1/worker/jobs/%d/release", j3.ID), wk, `{"token":"wrong"}`, 409)
	post(fmt.Sprintf("/api/v1/worker/jobs/%d/release", j3.ID), wk, fmt.Sprintf(`{"token":%q}`, claimed.Jobs[0].LeaseToken), 204)
	post("/api/v1/worker/reconcile", wk, `{"name":"wk1","holding":[]}`, 200)
	post("/api/v1/worker/reconcile", wk, `{"holding":[]}`, 400)

	// A finished job's results and files.
	get(fmt.Sprintf("/api/v1/jobs/%d/results", j1.ID), alice, 200)
	get(fmt.Sprintf("/api/v1/jobs/%d/files", j1.ID), alice, 200)
	get(fmt.Sprintf("/api/v1/jobs/%d/files/output/out.txt", j1.ID), alice, 200)
	get(fmt.Sprintf("/api/v1/jobs/%d/files/output/none.txt", j1.ID), alice, 404)
	get(fmt.Sprintf("/api/v1/jobs/%d/archive", j1.ID), alice, 200)
	get(fmt.Sprintf("/api/v1/jobs/%d/events", j1.ID), alice, 200)
	get(fmt.Sprintf("/api/v1/jobs/%d", j1.ID), admin, 200)

	// Pins and accounting.
	post(fmt.Sprintf("/api/v1/jobs/%d/keep", j1.ID), alice, `{"keep":true}`, 200)
	post(fmt.Sprintf("/api/v1/jobs/%d/keep", j1.ID), alice, `{}`, 400)
	post(fmt.Sprintf("/api/v1/jobs/%d/keep", j1.ID), admin, `{"keep":false}`, 200)
	get("/api/v1/usage", alice, 200)
	get("/api/v1/usage?since=2026-01-01", admin, 200)
	get("/api/v1/usage?user=alice&since=2026-01-31T12:00:00Z", admin, 200)
	get("/api/v1/usage?user=admin", alice, 403)
	get("/api/v1/usage?since=yesterday", alice, 400)

	// Cancel and delete.
	post(fmt.Sprintf("/api/v1/jobs/%d/cancel", j3.ID), alice, "", 200)
	post(fmt.Sprintf("/api/v1/jobs/%d/cancel", j3.ID), alice, "", 409)
	code, b = must(c.do("DELETE", fmt.Sprintf("/api/v1/jobs/%d", j3.ID), alice, "", nil))
	expect(t, "delete", code, b, 204)
	get(fmt.Sprintf("/api/v1/jobs/%d", j3.ID), alice, 404)

	// Workers and the admin operations (admins only).
	get("/api/v1/workers", admin, 200)
	get("/api/v1/workers", alice, 403)
	post("/api/v1/workers/wk1/drain", alice, "", 403)
	post("/api/v1/workers/nosuch/drain", admin, "", 404)
	drained := decode[api.WorkerInfo](t, post("/api/v1/workers/wk1/drain", admin, "", 200))
	if !drained.Drained || drained.DrainedSince == nil {
		t.Errorf("drained worker = %+v", drained)
	}
	j4 := decode[idOnly](t, post("/api/v1/jobs", alice, sleepJob, 201))
	claimed = decode[api.ClaimResponse](t, post("/api/v1/worker/claim", wk, `{"name":"wk1","slots":4,"free":4}`, 200))
	if len(claimed.Jobs) != 0 || !claimed.Drain {
		t.Errorf("a drained worker's claim = %+v, want no jobs and drain", claimed)
	}
	post("/api/v1/workers/wk1/resume", admin, "", 200)
	post(fmt.Sprintf("/api/v1/jobs/%d/priority", j4.ID), admin, `{"priority":7}`, 200)
	post(fmt.Sprintf("/api/v1/jobs/%d/priority", j4.ID), admin, `{"priority":700}`, 400)
	post(fmt.Sprintf("/api/v1/jobs/%d/priority", j4.ID), admin, `{}`, 400)
	post(fmt.Sprintf("/api/v1/jobs/%d/priority", j3.ID), admin, `{"priority":1}`, 404)
	post(fmt.Sprintf("/api/v1/jobs/%d/priority", j1.ID), admin, `{"priority":1}`, 409)
	post(fmt.Sprintf("/api/v1/jobs/%d/requeue", j1.ID), alice, "", 403)
	post(fmt.Sprintf("/api/v1/jobs/%d/requeue", j2.ID), admin, "", 200)
	post("/api/v1/users/nosuch/cancel", admin, "", 404)
	cancelled := decode[api.UserCancel](t, post("/api/v1/users/alice/cancel", admin, "", 200))
	if len(cancelled.Cancelled) != 2 {
		t.Errorf("cancelling alice's jobs = %+v, want her 2 pending jobs", cancelled)
	}
}

func exerciseOldRoutes(t *testing.T, c *apiCheck, env *testenv.Env) {
	bob := env.User("bob", store.RoleUser)
	old := env.User("oldworker", store.RoleWorker)
	do := func(method, path, tok, ctype, body string, codes ...int) []byte {
		t.Helper()
		code, b := must(c.basic(method, path, tok, ctype, strings.NewReader(body)))
		expect(t, method+" "+path, code, b, codes...)
		return b
	}
	const oldReq = `{"name":"old","service":"sleep","version":"0.9","notify":"","data":{"seconds":0}}`
	do("POST", "/jobs.json", bob, "application/json", "not json", 400)
	j := decode[idOnly](t, do("POST", "/jobs.json", bob, "application/json", oldReq, 200))
	do("GET", "/jobs.json", bob, "", "", 200)
	do("GET", fmt.Sprintf("/jobs/%d.json", j.ID), bob, "", "", 200)
	do("GET", "/jobs/pending.json", bob, "", "", 200)
	do("GET", "/jobs/99999.json", bob, "", "", 404)
	do("GET", fmt.Sprintf("/jobs/%d/status.json", j.ID), bob, "", "", 200)
	do("GET", fmt.Sprintf("/jobs/%d/results.json", j.ID), bob, "", "", 200)

	// An old worker runs it and posts its results and a file.
	do("POST", "/jobs/nextjob.json", old, "application/json", "[", 400)
	next := decode[struct{ ID int64 }](t, do("POST", "/jobs/nextjob.json", old, "application/json", `{"queue":"oldq"}`, 200))
	if next.ID != j.ID {
		t.Fatalf("old worker got job %d, want %d", next.ID, j.ID)
	}
	do("GET", fmt.Sprintf("/jobs/%d/status.json", j.ID), old, "", "", 200)
	post := func(queue string) (string, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("queue", queue)
		mw.WriteField("results", `{"status":"COMPLETE","result":{"x":1}}`)
		fw, _ := mw.CreateFormFile("file", "fit.dat")
		fw.Write([]byte("1 2 3\n"))
		mw.Close()
		return mw.FormDataContentType(), buf.String()
	}
	ctype, body := post("other")
	do("POST", fmt.Sprintf("/jobs/%d/postjob", j.ID), old, ctype, body, 404)
	ctype, body = post("oldq")
	do("POST", fmt.Sprintf("/jobs/%d/postjob", j.ID), old, ctype, body, 200)
	do("GET", fmt.Sprintf("/jobs/%d/results.json", j.ID), bob, "", "", 200)
	do("GET", fmt.Sprintf("/jobs/%d/data/index.json", j.ID), bob, "", "", 200)
	do("GET", fmt.Sprintf("/jobs/%d/data/fit.dat", j.ID), bob, "", "", 200)
	do("GET", fmt.Sprintf("/jobs/%d/data/none.dat", j.ID), bob, "", "", 404)
	do("POST", fmt.Sprintf("/jobs/%d.json?action=bogus", j.ID), bob, "", "", 400)
	do("POST", fmt.Sprintf("/jobs/%d.json?action=stop", j.ID), bob, "", "", 200)
	do("DELETE", fmt.Sprintf("/jobs/%d.json", j.ID), bob, "", "", 200)
}

func exerciseAnonymous(t *testing.T, c *apiCheck, workerTok string) {
	submit := func() (capURL string) {
		t.Helper()
		ctype, body := submissionParts(sleepJob, map[string]string{"data.txt": "1 2\n"})
		code, b := must(c.do("POST", "/api/v1/anonymous/jobs", "", ctype, body))
		expect(t, "anonymous submit", code, b, 201)
		return decode[struct{ URL string }](t, b).URL
	}
	get := func(path string, codes ...int) {
		t.Helper()
		code, b := must(c.do("GET", path, "", "", nil))
		expect(t, "GET "+path, code, b, codes...)
	}
	code, b := must(c.do("POST", "/api/v1/anonymous/jobs", "", "application/json", strings.NewReader(`{"service":1}`)))
	expect(t, "bad anonymous submit", code, b, 400)

	done := submit()
	get(done+"/results", 409)
	if ran := runAsWorker(t, c, workerTok); len(ran) != 1 {
		t.Fatalf("the worker ran %v, want the anonymous job alone", ran)
	}
	get(done, 200)
	get(done+"/results", 200)
	get(done+"/files", 200)
	get(done+"/files/input/data.txt", 200)
	get(done+"/files/output/out.txt", 200)
	get(done+"/archive", 200)
	get(done+"/events", 200)
	code, b = must(c.do("POST", done+"/cancel", "", "", nil))
	expect(t, "cancel a finished anonymous job", code, b, 409)

	live := submit()
	code, b = must(c.do("POST", live+"/cancel", "", "", nil))
	expect(t, "anonymous cancel", code, b, 200)
	code, b = must(c.do("DELETE", live, "", "", nil))
	expect(t, "anonymous delete", code, b, 204)
	get(live, 404)
}
