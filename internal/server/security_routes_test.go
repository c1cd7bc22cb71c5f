package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The callers a route may see.
type role int

const (
	anon   role = iota // no token, no session
	owner              // alice, who owns the jobs in the paths
	other              // bob, another user: in a group with alice, not one the jobs are shared with
	admin              // the bootstrap admin
	worker             // a worker identity
	member             // carol, in the group "optics" alice shares the jobs with
	nRoles
)

var roleNames = [nRoles]string{"no token", "owner", "other user", "admin", "worker", "group member"}

// want is the status each role must get, in role order.
type want [nRoles]int

// Expectation shapes. API routes answer 401 without a token and 403 to a
// token of the wrong kind; another user's job is 404, like no job at all.
// A member of a group the job is shared with reads it as its owner does
// but is refused (403) what changes it (the W shapes): they can see it,
// so a 404 would be a lie. Pages send the signed-out to sign in (page),
// or answer 401 (what pages load by themselves: streams and files) or 403
// (forms); a worker token never makes a session, so a worker is signed
// out on every page.
func apiJob(c int) want   { return want{401, c, 404, c, 403, c} }
func apiJobW(c int) want  { return want{401, c, 404, c, 403, 403} }
func apiUser(c int) want  { return want{401, c, c, c, 403, c} }
func apiAdmin(c int) want { return want{401, 403, 403, c, 403, 403} }
func apiWork(c int) want  { return want{401, 403, 403, 403, c, 403} }
func public(c int) want   { return want{c, c, c, c, c, c} }
func pageJob(c int) want  { return want{303, c, 404, c, 303, c} }
func pageUser(c int) want { return want{303, c, c, c, 303, c} }
func strmJob(c int) want  { return want{401, c, 404, c, 401, c} }
func strmUser(c int) want { return want{401, c, c, c, 401, c} }
func formJob(c int) want  { return want{403, c, 404, c, 403, c} }
func formJobW(c int) want { return want{403, c, 404, c, 403, 403} }
func formUser(c int) want { return want{403, c, c, c, 403, c} }

// routeCase is one request of the walk. Pattern is the route as the
// server registers it; {id}, {tok} and {csrf} in Path and Body are filled
// in per call from what prep returns.
type routeCase struct {
	Pattern, Method, Path string
	Body, CType           string
	Lease                 bool // send the lease token as X-Lease-Token
	Stream                bool // read the status only, the body never ends
	Page                  bool // a page: cookie session, not a bearer token
	Prep                  prep
	Want                  want
}

// prep readies what one call acts on and returns the values for the path.
type prep func(w *walk, t *testing.T) map[string]string

// TestRouteRoleWalk walks every route the controller serves (the API,
// the old routes, the worker protocol and the pages) as each kind of
// caller and asserts the status: the owner and an admin may act on a
// job, a member of a group it is shared with may read it and copy it but
// not change it (403), another user cannot tell it exists, no token is
// 401 (a page sends the caller to sign in), and user and worker tokens
// are each refused on the other's routes. TestRouteTableComplete keeps the table complete.
func TestRouteRoleWalk(t *testing.T) {
	t.Parallel()
	w := newWalk(t)
	for _, rc := range routeTable() {
		t.Run(rc.Method+" "+rc.Path, func(t *testing.T) {
			for r := range nRoles {
				vals := map[string]string{"id": fmt.Sprint(w.fixture), "tok": "", "csrf": w.csrf[r]}
				if rc.Prep != nil {
					for k, v := range rc.Prep(w, t) {
						vals[k] = v
					}
				}
				w.check(t, rc, r, vals)
			}
		})
	}
}

func routeTable() []routeCase {
	job, hold, queued, ser := (*walk).freshJob, (*walk).heldJob, (*walk).queuedJob, (*walk).seriesJob
	sleep := `{"service":"sleep","spec":{"seconds":60}}`
	fitForm := url.Values{"kind": {"fit"}, "model": {"a*x"}, "p0_name": {"a"},
		"p0_value": {"1"}, "data": {"1 2\n2 4\n3 6"}}.Encode() + "&csrf_token={csrf}"
	complete := "--B\r\nContent-Disposition: form-data; name=\"result\"\r\n\r\n" +
		`{"token":"{tok}","state":"COMPLETE","result":{}}` + "\r\n--B--\r\n"
	postjob := "--B\r\nContent-Disposition: form-data; name=\"queue\"\r\n\r\nwalker\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"results\"\r\n\r\n{\"status\":\"COMPLETE\"}\r\n--B--\r\n"
	const j = "/api/v1/jobs/{id}"
	return []routeCase{
		// Public.
		{Pattern: "GET /healthz", Method: "GET", Path: "/healthz", Want: public(200)},
		{Pattern: "GET /metrics", Method: "GET", Path: "/metrics", Want: public(200)},
		{Pattern: "/api/", Method: "GET", Path: "/api/v1/nothing", Want: public(404)},
		{Pattern: "/api/", Method: "PUT", Path: j, Want: public(404)},
		// The API, on alice's job.
		{Pattern: "GET /api/v1/whoami", Method: "GET", Path: "/api/v1/whoami", Want: apiUser(200)},
		{Pattern: "POST /api/v1/jobs", Method: "POST", Path: "/api/v1/jobs", Body: sleep, CType: "application/json", Want: apiUser(201)},
		{Pattern: "GET /api/v1/jobs", Method: "GET", Path: "/api/v1/jobs", Want: apiUser(200)},
		{Pattern: "GET /api/v1/jobs/{id}", Method: "GET", Path: j, Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/results", Method: "GET", Path: j + "/results", Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/results", Method: "GET", Path: j + "/results", Prep: job, Want: apiJob(409)},
		{Pattern: "GET /api/v1/jobs/{id}/files", Method: "GET", Path: j + "/files", Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/files/{path...}", Method: "GET", Path: j + "/files/input/data.txt", Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/files/{path...}", Method: "GET", Path: j + "/files/output/result.txt", Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/files/{path...}", Method: "GET", Path: j + "/files/output/%2e%2e/%2e%2e/%2e%2e/bumpserve.db", Want: apiJob(404)},
		{Pattern: "GET /api/v1/jobs/{id}/archive", Method: "GET", Path: j + "/archive", Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/events", Method: "GET", Path: j + "/events", Stream: true, Want: apiJob(200)},
		// Series: the fixture is not one; a new series has no completed
		// fit yet, so no parameter to plot.
		{Pattern: "GET /api/v1/jobs/{id}/series", Method: "GET", Path: j + "/series", Prep: ser, Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/series", Method: "GET", Path: j + "/series", Want: apiJob(404)},
		{Pattern: "GET /api/v1/jobs/{id}/series.csv", Method: "GET", Path: j + "/series.csv", Prep: ser, Want: apiJob(200)},
		{Pattern: "GET /api/v1/jobs/{id}/series.svg", Method: "GET", Path: j + "/series.svg?param=a", Prep: ser, Want: apiJob(400)},
		{Pattern: "POST /api/v1/jobs/{id}/cancel", Method: "POST", Path: j + "/cancel", Prep: job, Want: apiJobW(200)},
		{Pattern: "POST /api/v1/jobs/{id}/cancel", Method: "POST", Path: j + "/cancel", Want: apiJobW(409)}, // finished
		// The fixture is a finished sleep job: nothing to stop or continue;
		// only the owner may continue a job, not even an admin.
		{Pattern: "POST /api/v1/jobs/{id}/stop", Method: "POST", Path: j + "/stop", Want: apiJobW(409)},
		{Pattern: "POST /api/v1/jobs/{id}/resume", Method: "POST", Path: j + "/resume", Body: `{"samples":10}`, CType: "application/json", Want: want{401, 409, 404, 403, 403, 403}},
		{Pattern: "DELETE /api/v1/jobs/{id}", Method: "DELETE", Path: j, Prep: job, Want: apiJobW(204)},
		// Pins and accounting (usage.go): a user sees only their own usage.
		{Pattern: "POST /api/v1/jobs/{id}/keep", Method: "POST", Path: j + "/keep", Body: `{"keep":true}`, CType: "application/json", Want: apiJobW(200)},
		{Pattern: "GET /api/v1/usage", Method: "GET", Path: "/api/v1/usage", Want: apiUser(200)},
		{Pattern: "GET /api/v1/usage", Method: "GET", Path: "/api/v1/usage?user=alice&since=2026-01-01", Want: want{401, 200, 403, 200, 403, 403}},
		// A group's usage: its members and admins (bob is in bio, not optics);
		// no such group is 404 for an admin, 403 like another's for a user.
		{Pattern: "GET /api/v1/usage", Method: "GET", Path: "/api/v1/usage?group=optics", Want: want{401, 200, 403, 200, 403, 200}},
		{Pattern: "GET /api/v1/usage", Method: "GET", Path: "/api/v1/usage?group=nosuch", Want: want{401, 403, 403, 404, 403, 403}},
		// Notifications: the delivery log holds the owner's addresses, so
		// only the owner sees it, not even an admin or a group member.
		{Pattern: "GET /api/v1/jobs/{id}/notifications", Method: "GET", Path: j + "/notifications", Want: want{401, 200, 404, 404, 403, 404}},
		{Pattern: "GET /api/v1/me/notify", Method: "GET", Path: "/api/v1/me/notify", Want: apiUser(200)},
		{Pattern: "PUT /api/v1/me/notify", Method: "PUT", Path: "/api/v1/me/notify", Body: `{"webhook":"https://hooks.example.org/x"}`, CType: "application/json", Want: apiUser(200)},
		{Pattern: "PUT /api/v1/me/notify", Method: "PUT", Path: "/api/v1/me/notify", Body: `{"webhook":"http://hooks.example.org/x"}`, CType: "application/json", Want: apiUser(400)},
		{Pattern: "POST /api/v1/me/webhook-secret", Method: "POST", Path: "/api/v1/me/webhook-secret", Want: apiUser(200)},
		{Pattern: "GET /api/v1/workers", Method: "GET", Path: "/api/v1/workers", Want: apiAdmin(200)},
		{Pattern: "GET /api/v1/openapi.json", Method: "GET", Path: "/api/v1/openapi.json", Want: public(200)},
		// The operators' routes (admin.go).
		{Pattern: "POST /api/v1/workers/{name}/drain", Method: "POST", Path: "/api/v1/workers/{name}/drain", Prep: (*walk).idleWorker, Want: apiAdmin(200)},
		{Pattern: "POST /api/v1/workers/{name}/resume", Method: "POST", Path: "/api/v1/workers/{name}/resume", Prep: (*walk).idleWorker, Want: apiAdmin(200)},
		{Pattern: "POST /api/v1/jobs/{id}/requeue", Method: "POST", Path: j + "/requeue", Prep: job, Want: apiAdmin(200)},
		{Pattern: "POST /api/v1/jobs/{id}/priority", Method: "POST", Path: j + "/priority", Body: `{"priority":3}`, CType: "application/json", Prep: job, Want: apiAdmin(200)},
		{Pattern: "POST /api/v1/users/{name}/cancel", Method: "POST", Path: "/api/v1/users/bob/cancel", Want: apiAdmin(200)},
		// Groups (groups.go): admins make them and set members, on the
		// group "spare" that no job is shared with; the owner shares; any
		// who can read a job may copy it as their own.
		{Pattern: "GET /api/v1/groups", Method: "GET", Path: "/api/v1/groups", Want: apiUser(200)},
		{Pattern: "POST /api/v1/groups", Method: "POST", Path: "/api/v1/groups", Body: `{"name":"walked"}`, CType: "application/json", Want: apiAdmin(201)},
		{Pattern: "POST /api/v1/groups/{name}/members/{user}", Method: "POST", Path: "/api/v1/groups/spare/members/bob", Want: apiAdmin(200)},
		{Pattern: "DELETE /api/v1/groups/{name}/members/{user}", Method: "DELETE", Path: "/api/v1/groups/spare/members/bob", Want: apiAdmin(200)},
		{Pattern: "POST /api/v1/jobs/{id}/share", Method: "POST", Path: j + "/share", Body: `{"groups":["bio"]}`, CType: "application/json", Prep: job, Want: apiJobW(200)},
		{Pattern: "POST /api/v1/jobs/{id}/unshare", Method: "POST", Path: j + "/unshare", Body: `{"groups":["optics"]}`, CType: "application/json", Prep: job, Want: apiJobW(200)},
		{Pattern: "POST /api/v1/jobs/{id}/copy", Method: "POST", Path: j + "/copy", Want: apiJob(201)},
		// The worker protocol, on a job the walker holds.
		{Pattern: "POST /api/v1/worker/claim", Method: "POST", Path: "/api/v1/worker/claim", Body: `{"name":"walker","free":0}`, CType: "application/json", Want: apiWork(200)},
		{Pattern: "GET /api/v1/worker/jobs/{id}/input", Method: "GET", Path: "/api/v1/worker/jobs/{id}/input", Lease: true, Prep: hold, Want: apiWork(200)},
		{Pattern: "POST /api/v1/worker/jobs/{id}/heartbeat", Method: "POST", Path: "/api/v1/worker/jobs/{id}/heartbeat", Body: `{"token":"{tok}","name":"walker"}`, CType: "application/json", Prep: hold, Want: apiWork(200)},
		{Pattern: "POST /api/v1/worker/jobs/{id}/heartbeat", Method: "POST", Path: "/api/v1/worker/jobs/{id}/heartbeat", Body: `{"token":"forged","name":"walker"}`, CType: "application/json", Prep: hold, Want: apiWork(409)},
		{Pattern: "POST /api/v1/worker/jobs/{id}/complete", Method: "POST", Path: "/api/v1/worker/jobs/{id}/complete", Body: complete, CType: "multipart/form-data; boundary=B", Prep: hold, Want: apiWork(204)},
		{Pattern: "PUT /api/v1/worker/jobs/{id}/checkpoint", Method: "PUT", Path: "/api/v1/worker/jobs/{id}/checkpoint", Body: "bumpserve-fit-checkpoint\n{}\n", CType: "application/octet-stream", Lease: true, Prep: (*walk).heldFit, Want: apiWork(204)},
		{Pattern: "PUT /api/v1/worker/jobs/{id}/checkpoint", Method: "PUT", Path: "/api/v1/worker/jobs/{id}/checkpoint", Body: "not one", CType: "application/octet-stream", Lease: true, Prep: (*walk).heldFit, Want: apiWork(400)},
		{Pattern: "PUT /api/v1/worker/jobs/{id}/checkpoint", Method: "PUT", Path: "/api/v1/worker/jobs/{id}/checkpoint", Body: "bumpserve-fit-checkpoint\n{}\n", CType: "application/octet-stream", Lease: true, Prep: hold, Want: apiWork(409)},
		{Pattern: "GET /api/v1/worker/jobs/{id}/checkpoint", Method: "GET", Path: "/api/v1/worker/jobs/{id}/checkpoint", Lease: true, Prep: (*walk).heldFit, Want: apiWork(404)},
		{Pattern: "GET /api/v1/worker/jobs/{id}/continue", Method: "GET", Path: "/api/v1/worker/jobs/{id}/continue", Lease: true, Prep: (*walk).heldFit, Want: apiWork(404)},
		{Pattern: "POST /api/v1/worker/jobs/{id}/release", Method: "POST", Path: "/api/v1/worker/jobs/{id}/release", Body: `{"token":"{tok}"}`, CType: "application/json", Prep: hold, Want: apiWork(204)},
		{Pattern: "POST /api/v1/worker/heartbeats", Method: "POST", Path: "/api/v1/worker/heartbeats", Body: `{"name":"walker","jobs":[{"id":{id},"token":"{tok}"}]}`, CType: "application/json", Prep: hold, Want: apiWork(200)},
		{Pattern: "POST /api/v1/worker/completions", Method: "POST", Path: "/api/v1/worker/completions", Body: `{"name":"walker","jobs":[{"id":{id},"token":"{tok}","state":"COMPLETE","result":{}}]}`, CType: "application/json", Prep: hold, Want: apiWork(200)},
		{Pattern: "POST /api/v1/worker/reconcile", Method: "POST", Path: "/api/v1/worker/reconcile", Body: `{"name":"walker-2","holding":[]}`, CType: "application/json", Want: apiWork(200)},
		// The old routes.
		{Pattern: "GET /jobs.json", Method: "GET", Path: "/jobs.json", Want: apiUser(200)},
		{Pattern: "POST /jobs.json", Method: "POST", Path: "/jobs.json", Body: `{"service":"sleep","data":{"seconds":60}}`, CType: "application/json", Want: apiUser(200)},
		{Pattern: "GET /jobs/{name}", Method: "GET", Path: "/jobs/{id}.json", Want: apiJob(200)},
		{Pattern: "GET /jobs/{name}", Method: "GET", Path: "/jobs/pending.json", Want: apiUser(200)},
		{Pattern: "DELETE /jobs/{name}", Method: "DELETE", Path: "/jobs/{id}.json", Prep: job, Want: apiJobW(200)},
		// A worker reads the status of the jobs it claimed (the fixture),
		// so an old worker learns of cancels, and no other.
		{Pattern: "GET /jobs/{id}/status.json", Method: "GET", Path: "/jobs/{id}/status.json", Want: want{401, 200, 404, 200, 200, 200}},
		{Pattern: "GET /jobs/{id}/status.json", Method: "GET", Path: "/jobs/{id}/status.json", Prep: job, Want: want{401, 200, 404, 200, 404, 200}},
		{Pattern: "POST /jobs/{name}", Method: "POST", Path: "/jobs/{id}?action=stop", Prep: job, Want: apiJobW(200)},
		{Pattern: "GET /jobs/{id}/results.json", Method: "GET", Path: "/jobs/{id}/results.json", Want: apiJob(200)},
		{Pattern: "GET /jobs/{id}/data/index.json", Method: "GET", Path: "/jobs/{id}/data/index.json", Want: apiJob(200)},
		{Pattern: "GET /jobs/{id}/data/{file}", Method: "GET", Path: "/jobs/{id}/data/result.txt", Want: apiJob(200)},
		{Pattern: "POST /jobs/nextjob.json", Method: "POST", Path: "/jobs/nextjob.json", Body: `{"queue":"walker"}`, CType: "application/json", Prep: queued, Want: apiWork(200)},
		{Pattern: "POST /jobs/{id}/postjob", Method: "POST", Path: "/jobs/{id}/postjob", Body: postjob, CType: "multipart/form-data; boundary=B", Prep: hold, Want: apiWork(200)},
		// Anonymous mode is off by default (as in this walk): its routes
		// must not exist for anyone. TODO: a walk with Config.Anonymous on
		// and a capability holder as a sixth caller.
		{Pattern: "POST /api/v1/anonymous/jobs", Method: "POST", Path: "/api/v1/anonymous/jobs", Body: sleep, CType: "application/json", Want: public(404)},
		{Pattern: "GET /api/v1/anonymous/jobs/{cap}", Method: "GET", Path: "/api/v1/anonymous/jobs/x", Want: public(404)},
		{Pattern: "GET /api/v1/anonymous/jobs/{cap}/results", Method: "GET", Path: "/api/v1/anonymous/jobs/x/results", Want: public(404)},
		{Pattern: "GET /api/v1/anonymous/jobs/{cap}/files", Method: "GET", Path: "/api/v1/anonymous/jobs/x/files", Want: public(404)},
		{Pattern: "GET /api/v1/anonymous/jobs/{cap}/files/{path...}", Method: "GET", Path: "/api/v1/anonymous/jobs/x/files/input/data.txt", Want: public(404)},
		{Pattern: "GET /api/v1/anonymous/jobs/{cap}/archive", Method: "GET", Path: "/api/v1/anonymous/jobs/x/archive", Want: public(404)},
		{Pattern: "GET /api/v1/anonymous/jobs/{cap}/events", Method: "GET", Path: "/api/v1/anonymous/jobs/x/events", Want: public(404)},
		{Pattern: "POST /api/v1/anonymous/jobs/{cap}/cancel", Method: "POST", Path: "/api/v1/anonymous/jobs/x/cancel", Want: public(404)},
		{Pattern: "DELETE /api/v1/anonymous/jobs/{cap}", Method: "DELETE", Path: "/api/v1/anonymous/jobs/x", Want: public(404)},
		// The pages.
		{Pattern: "GET /{$}", Method: "GET", Path: "/", Page: true, Want: public(303)},
		{Pattern: "GET /ui/{$}", Method: "GET", Path: "/ui/", Page: true, Want: public(303)},
		{Pattern: "GET /ui/static/", Method: "GET", Path: "/ui/static/style.css", Page: true, Want: public(200)},
		{Pattern: "/ui/", Method: "GET", Path: "/ui/nothing", Page: true, Want: public(404)},
		{Pattern: "GET /ui/login", Method: "GET", Path: "/ui/login", Page: true, Want: want{200, 303, 303, 303, 200, 303}},
		// Each role sends its own token: none is 400, a worker's is 401.
		{Pattern: "POST /ui/login", Method: "POST", Path: "/ui/login", Page: true, Body: "token={tok}", CType: "application/x-www-form-urlencoded", Want: want{400, 303, 303, 303, 401, 303}},
		{Pattern: "POST /ui/logout", Method: "POST", Path: "/ui/logout", Page: true, Body: "csrf_token={csrf}", CType: "application/x-www-form-urlencoded", Want: formUser(303)},
		{Pattern: "GET /ui/jobs", Method: "GET", Path: "/ui/jobs", Page: true, Want: pageUser(200)},
		{Pattern: "GET /ui/jobs/events", Method: "GET", Path: "/ui/jobs/events", Page: true, Stream: true, Want: strmUser(200)},
		{Pattern: "GET /ui/jobs/{id}", Method: "GET", Path: "/ui/jobs/{id}", Page: true, Want: pageJob(200)},
		{Pattern: "GET /ui/jobs/{id}/events", Method: "GET", Path: "/ui/jobs/{id}/events", Page: true, Stream: true, Want: strmJob(200)},
		{Pattern: "GET /ui/jobs/{id}/files/{path...}", Method: "GET", Path: "/ui/jobs/{id}/files/input/data.txt", Page: true, Want: strmJob(200)},
		{Pattern: "GET /ui/jobs/{id}/files/{path...}", Method: "GET", Path: "/ui/jobs/{id}/files/output/result.txt", Page: true, Want: strmJob(200)},
		{Pattern: "GET /ui/jobs/{id}/plot/{path...}", Method: "GET", Path: "/ui/jobs/{id}/plot/model.svg", Page: true, Want: strmJob(200)},
		{Pattern: "GET /ui/jobs/{id}/plot/{path...}", Method: "GET", Path: "/ui/jobs/{id}/plot/..%2f..%2fbumpserve.svg", Page: true, Want: strmJob(404)},
		{Pattern: "GET /ui/jobs/{id}/archive", Method: "GET", Path: "/ui/jobs/{id}/archive", Page: true, Want: strmJob(200)},
		{Pattern: "GET /ui/jobs/{id}", Method: "GET", Path: "/ui/jobs/{id}", Page: true, Prep: ser, Want: pageJob(200)},
		{Pattern: "GET /ui/jobs/{id}/series.csv", Method: "GET", Path: "/ui/jobs/{id}/series.csv", Page: true, Prep: ser, Want: strmJob(200)},
		{Pattern: "GET /ui/jobs/{id}/series.csv", Method: "GET", Path: "/ui/jobs/{id}/series.csv", Page: true, Want: strmJob(404)},
		{Pattern: "GET /ui/jobs/{id}/series.svg", Method: "GET", Path: "/ui/jobs/{id}/series.svg?param=a", Page: true, Prep: ser, Want: strmJob(400)},
		{Pattern: "POST /ui/jobs/{id}/cancel", Method: "POST", Path: "/ui/jobs/{id}/cancel", Page: true, Body: "csrf_token={csrf}", CType: "application/x-www-form-urlencoded", Prep: job, Want: formJobW(303)},
		{Pattern: "POST /ui/jobs/{id}/delete", Method: "POST", Path: "/ui/jobs/{id}/delete", Page: true, Body: "csrf_token={csrf}", CType: "application/x-www-form-urlencoded", Prep: job, Want: formJobW(303)},
		{Pattern: "POST /ui/jobs/{id}/keep", Method: "POST", Path: "/ui/jobs/{id}/keep", Page: true, Body: "csrf_token={csrf}&keep=on", CType: "application/x-www-form-urlencoded", Want: formJobW(303)},
		{Pattern: "POST /ui/jobs/{id}/stop", Method: "POST", Path: "/ui/jobs/{id}/stop", Page: true, Body: "csrf_token={csrf}", CType: "application/x-www-form-urlencoded", Want: formJobW(409)},
		{Pattern: "POST /ui/jobs/{id}/continue", Method: "POST", Path: "/ui/jobs/{id}/continue", Page: true, Body: "csrf_token={csrf}&samples=10", CType: "application/x-www-form-urlencoded", Want: want{403, 409, 404, 403, 403, 403}},
		{Pattern: "POST /ui/jobs/{id}/copy", Method: "POST", Path: "/ui/jobs/{id}/copy", Page: true, Body: "csrf_token={csrf}", CType: "application/x-www-form-urlencoded", Want: formJob(303)},
		{Pattern: "GET /ui/submit", Method: "GET", Path: "/ui/submit", Page: true, Want: pageUser(200)},
		{Pattern: "GET /ui/submit", Method: "GET", Path: "/ui/submit?from={id}", Page: true, Want: pageJob(200)},
		{Pattern: "POST /ui/submit", Method: "POST", Path: "/ui/submit", Page: true, Body: fitForm, CType: "application/x-www-form-urlencoded", Want: formUser(303)},
		{Pattern: "GET /ui/admin", Method: "GET", Path: "/ui/admin", Page: true, Want: want{303, 403, 403, 200, 303, 403}},
		{Pattern: "POST /ui/admin", Method: "POST", Path: "/ui/admin", Page: true, Body: "csrf_token={csrf}&action=priority&job={id}&priority=2", CType: "application/x-www-form-urlencoded", Prep: job, Want: want{403, 403, 403, 303, 403, 403}},
	}
}

// walk is the running controller and the callers' credentials.
type walk struct {
	env     *testenv.Env
	tokens  [nRoles]string // "" for anon
	csrf    [nRoles]string // each session's form token ("" without one)
	fixture int64          // alice's finished job, with input and output files
	wk      *client.Client
}

func newWalk(t *testing.T) *walk {
	env := testenv.Start(t, controller.Config{Workers: 0, Server: server.Config{SubmitRate: 1e6}})
	w := &walk{env: env}
	w.tokens[owner] = env.User("alice", store.RoleUser)
	w.tokens[other] = env.User("bob", store.RoleUser)
	w.tokens[admin] = env.AdminToken
	w.tokens[worker] = env.User("walker", store.RoleWorker)
	w.tokens[member] = env.User("carol", store.RoleUser)
	w.wk = env.Client(w.tokens[worker])
	// The jobs are shared with optics (carol's); bob shares the group bio
	// with alice, which they are not shared with.
	ac := env.Client(env.AdminToken)
	for g, users := range map[string][]string{"optics": {"alice", "carol"}, "bio": {"alice", "bob"}, "spare": nil} {
		if _, err := ac.CreateGroup(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if _, err := ac.SetGroupMember(context.Background(), g, u, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range []role{owner, other, admin, member} {
		w.csrf[r] = w.signIn(t, r)
	}

	// Alice's job: uploaded input/data.txt, then run by a remote worker
	// that sends back output/result.txt.
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("1 2\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	os.WriteFile(filepath.Join(dir, "out", "result.txt"), []byte("done\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "out", "model.dat"), []byte("1 2 0.1 2.1\n2 4 0.1 3.9\n"), 0o644) // a Bumps-style x y dy fy table
	j, err := env.Client(w.tokens[owner]).Submit(ctx, client.Submission{Service: "sleep", Groups: []string{"optics"}},
		[]client.Upload{{Name: "data.txt", Path: filepath.Join(dir, "data.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	w.fixture = j.ID
	tok := w.hold(t, j.ID)
	if _, err := w.wk.Complete(ctx, j.ID, api.CompleteRequest{Token: tok, State: job.Complete, Result: json.RawMessage(`{"ok":true}`)},
		filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	return w
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn proves the role's token signs in (and that the session cookie is
// the token itself, which the walk then sends by hand), and reads the
// session's form token from a page.
func (w *walk) signIn(t *testing.T, r role) string {
	resp := w.do(t, "POST", "/ui/login", "application/x-www-form-urlencoded", "token="+url.QueryEscape(w.tokens[r]), nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s signs in: %s", roleNames[r], resp.Status)
	}
	resp = w.do(t, "GET", "/ui/submit", "", "", map[string]string{"bumpserve_session": w.tokens[r]})
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token on %s's submit page", roleNames[r])
	}
	return string(m[1])
}

// freshJob is a new PENDING job of alice's, shared with optics, for the
// calls that end or change a job.
func (w *walk) freshJob(t *testing.T) map[string]string {
	j, err := w.env.Client(w.tokens[owner]).Submit(context.Background(),
		client.Submission{Service: "sleep", Spec: []byte(`{"seconds":60}`), Groups: []string{"optics"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"id": fmt.Sprint(j.ID)}
}

// seriesJob is a new fit series of alice's, shared with optics: one
// native fit of one file.
func (w *walk) seriesJob(t *testing.T) map[string]string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "d.txt"), []byte("1 2\n2 4\n3 6\n"), 0o644)
	spec := `{"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","file":"x.txt","columns":["x","y"]}]}`
	j, err := w.env.Client(w.tokens[owner]).Submit(context.Background(),
		client.Submission{Service: "fit", Spec: []byte(spec), Series: &client.Series{Files: []string{"d.txt"}}, Groups: []string{"optics"}},
		[]client.Upload{{Name: "d.txt", Path: filepath.Join(dir, "d.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"id": fmt.Sprint(j.ID)}
}

// queuedJob leaves a job in the queue so nextjob.json answers at once.
func (w *walk) queuedJob(t *testing.T) map[string]string {
	w.freshJob(t)
	return nil
}

// heldJob is a new job of alice's held by the worker "walker".
func (w *walk) heldJob(t *testing.T) map[string]string {
	id := w.freshJob(t)["id"]
	var n int64
	fmt.Sscan(id, &n)
	return map[string]string{"id": id, "tok": w.hold(t, n)}
}

// heldFit is a new native fit of alice's held by the worker "walker".
func (w *walk) heldFit(t *testing.T) map[string]string {
	spec := `{"fitter":"lm","parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","x":[1,2,3],"y":[2,4,6]}]}`
	j, err := w.env.Client(w.tokens[owner]).Submit(context.Background(), client.Submission{Service: "fit", Spec: []byte(spec)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"id": fmt.Sprint(j.ID), "tok": w.hold(t, j.ID)}
}

// hold claims every queued job for "walker" and returns job id's lease
// token; the others stay held and harmless (no route here needs them).
func (w *walk) hold(t *testing.T, id int64) string {
	js, err := w.wk.Claim(context.Background(), api.ClaimRequest{Name: "walker", Slots: 4096, Free: 4096})
	if err != nil {
		t.Fatal(err)
	}
	for _, cj := range js {
		if cj.ID == id {
			return cj.LeaseToken
		}
	}
	t.Fatalf("job %d was not claimable", id)
	return ""
}

func (w *walk) do(t *testing.T, method, path, ctype, body string, cookies map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, w.env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

var noRedirect = &http.Client{Timeout: 20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// check makes the call as role r and asserts its status and the shape of
// the answer.
func (w *walk) check(t *testing.T, rc routeCase, r role, vals map[string]string) {
	t.Helper()
	if rc.Pattern == "POST /ui/login" {
		vals["tok"] = url.QueryEscape(w.tokens[r])
	}
	fill := func(s string) string {
		for k, v := range vals {
			s = strings.ReplaceAll(s, "{"+k+"}", v)
		}
		return s
	}
	path, body := fill(rc.Path), fill(rc.Body)
	req, err := http.NewRequest(rc.Method, w.env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if rc.CType != "" {
		req.Header.Set("Content-Type", rc.CType)
	}
	if rc.Lease {
		req.Header.Set("X-Lease-Token", vals["tok"])
	}
	if tok := w.tokens[r]; tok != "" {
		if rc.Page {
			// A worker's token cannot sign in; a cookie forged from it
			// must not open a session either.
			req.AddCookie(&http.Cookie{Name: "bumpserve_session", Value: tok})
		} else {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := noRedirect.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s as %s: %v", rc.Method, path, roleNames[r], err)
	}
	defer resp.Body.Close()
	var b []byte
	if !rc.Stream || resp.StatusCode != 200 {
		b, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	if resp.StatusCode != rc.Want[r] {
		t.Fatalf("%s %s as %s: %s, want %d: %.300s", rc.Method, path, roleNames[r], resp.Status, rc.Want[r], b)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusSeeOther && rc.Page && (r == anon || r == worker) && rc.Path != "/" && rc.Path != "/ui/":
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/ui/login") {
			t.Errorf("%s %s as %s: redirected to %q, want the sign-in page", rc.Method, path, roleNames[r], loc)
		}
	case code >= 400 && !rc.Page:
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("%s %s as %s: %d without a JSON error: %.200s", rc.Method, path, roleNames[r], code, b)
		}
	}
}
