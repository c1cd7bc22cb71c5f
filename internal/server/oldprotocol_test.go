package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
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

// The old Bumps job-queue protocol end to end: a client and a worker of
// its own, in Debian's python3 with python3-httplib2 as the original used
// (testdata/oldprotocol), against a real controller. Each makes exactly
// the original's requests and reads exactly the fields it read.

const python = "/usr/bin/python3"

func needOldPython(t *testing.T) {
	t.Helper()
	err := exec.Command(python, "-c", "import httplib2").Run()
	testenv.Need(t, err == nil, "python3 with python3-httplib2 (scripts/install-deps)")
}

func oldScript(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", "oldprotocol", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// oldParty runs the old client (or the worker's one-shot post) as one
// user and decodes the JSON line it prints.
type oldParty struct {
	t          *testing.T
	url, user  string
	token, bin string
}

func (p oldParty) run(out any, args ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{p.bin, p.url, p.user, p.token}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		p.t.Fatalf("%v: %v", args, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		p.t.Fatalf("%s %v printed %q (%v); stderr: %s", filepath.Base(p.bin), args, b, err, stderr.String())
	}
}

// doc runs a command that prints a JSON object.
func (p oldParty) doc(args ...string) map[string]any {
	p.t.Helper()
	var m map[string]any
	p.run(&m, args...)
	return m
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	if got := keys(m); !slices.Equal(got, want) {
		t.Fatalf("%s has keys %v, want %v: %v", what, got, want, m)
	}
}

type oldEnv struct {
	*testenv.Env
	t      *testing.T
	client oldParty
	tokens map[string]string
}

func startOld(t *testing.T, services []string) *oldEnv {
	needOldPython(t)
	env := testenv.Start(t, controller.Config{Workers: 0, Lease: 8 * time.Second,
		Server: server.Config{LegacyWorkerServices: services}})
	e := &oldEnv{Env: env, t: t, tokens: map[string]string{}}
	e.client = oldParty{t, env.URL, "alice", env.User("alice", store.RoleUser), oldScript(t, "oldclient.py")}
	for _, w := range []string{"w1", "w2"} {
		e.tokens[w] = env.User(w, store.RoleWorker)
	}
	return e
}

// worker starts the old worker as identity w on queue; extra are its flags.
func (e *oldEnv) worker(w, queue string, extra ...string) *testenv.Proc {
	args := append([]string{"-u", oldScript(e.t, "oldworker.py"), e.URL, w, e.tokens[w], queue, "--poll", "0.2"}, extra...)
	return testenv.StartProc(e.t, "old worker "+w, python, args...)
}

func (e *oldEnv) submit(service string, data any) string {
	e.t.Helper()
	req, _ := json.Marshal(map[string]any{"name": "old " + service, "service": service, "data": data,
		"notify": "alice@example.org", "version": "0.9"})
	ans := e.client.doc("submit", string(req))
	wantKeys(e.t, "submit answer", ans, "id", "job")
	var sent map[string]any
	json.Unmarshal(req, &sent)
	if !reflect.DeepEqual(ans["job"], sent) {
		e.t.Fatalf("submit answered job %v, want the request as sent %v", ans["job"], sent)
	}
	return fmt.Sprint(ans["id"])
}

func (e *oldEnv) waitStatus(id, status string) {
	e.t.Helper()
	testenv.Eventually(e.t, time.Minute, "job "+id+" is "+status, func() bool {
		return e.client.doc("status", id)["status"] == status
	})
}

func (e *oldEnv) apiJob(id string) *job.Job {
	e.t.Helper()
	var n int64
	fmt.Sscan(id, &n)
	j, err := e.C.Store.GetJob(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func TestOldProtocolRunsJobs(t *testing.T) {
	t.Parallel()
	e := startOld(t, []string{"count", "snooze", "fail"})

	// httplib2 sends its credentials only after a Basic challenge.
	code, body, hdr := call(t, "GET", e.URL+"/jobs.json", "", "", nil)
	wantError(t, code, body, 401)
	if h := strings.Join(hdr.Values("WWW-Authenticate"), ", "); !strings.Contains(h, `Basic realm="bumpserve"`) || !strings.Contains(h, "Bearer") {
		t.Fatalf("401 challenges %q, want Basic and Bearer", h)
	}
	wrong := e.client
	wrong.token = "bst_wrong"
	if ans := wrong.doc("jobs"); ans["code"] != 401.0 {
		t.Fatalf("a wrong token answered %v, want 401", ans)
	}

	// A job runs: submit, the worker takes it, the client reads it back.
	id := e.submit("count", 1000)
	first := id
	if st := e.client.doc("status", id); st["status"] != "PENDING" || fmt.Sprint(st["id"]) != id {
		t.Fatalf("status = %v", st)
	}
	var pending []any
	e.client.run(&pending, "jobs", "PENDING")
	if fmt.Sprint(pending) != "["+id+"]" {
		t.Fatalf("pending jobs = %v", pending)
	}
	w := e.worker("w1", "q1", "--jobs", "1")
	res := e.client.doc("wait", id)
	wantKeys(t, "results", res, "id", "result", "status")
	if res["status"] != "COMPLETE" || res["result"] != 1000.0 {
		t.Fatalf("results = %v", res)
	}
	w.WaitLog(t, regexp.MustCompile(`posted job `+id+` COMPLETE`), time.Minute)
	if info := e.client.doc("info", id); info["job"].(map[string]any)["notify"] != "alice@example.org" {
		t.Fatalf("info = %v", info)
	}
	var files [][]any
	e.client.run(&files, "files", id)
	if fmt.Sprint(files) != "[[count.txt 5]]" {
		t.Fatalf("files = %v", files)
	}
	var text string
	e.client.run(&text, "file", id, "count.txt")
	if text != "1000\n" {
		t.Fatalf("count.txt = %q", text)
	}
	if j := e.apiJob(id); string(j.Result) != "1000" || j.Worker != "q1" {
		t.Fatalf("the API shows result %s from %q, want 1000 from q1", j.Result, j.Worker)
	}

	// An ERROR carries "error" and "trace".
	id = e.submit("fail", "bad input")
	e.worker("w1", "q1", "--jobs", "1")
	res = e.client.doc("wait", id)
	wantKeys(t, "results of an ERROR", res, "error", "id", "status", "trace")
	if res["status"] != "ERROR" || res["error"] != "ValueError: bad input" || !strings.Contains(res["trace"].(string), "Traceback") {
		t.Fatalf("results = %v", res)
	}
	if j := e.apiJob(id); j.State != job.Error || j.Reason != "ValueError: bad input" {
		t.Fatalf("the API shows %s %q", j.State, j.Reason)
	}

	// The job fetched ahead keeps its lease while the first one runs past
	// it: the status polls renew both.
	long, ahead := e.submit("snooze", 10), e.submit("count", 7)
	w = e.worker("w1", "q1", "--jobs", "2")
	w.WaitLog(t, regexp.MustCompile(`fetched job `+ahead+` ahead`), time.Minute)
	if res := e.client.doc("wait", ahead); res["status"] != "COMPLETE" || res["result"] != 7.0 {
		t.Fatalf("results of the job fetched ahead = %v", res)
	}
	if j := e.apiJob(long); j.State != job.Complete || j.Attempt != 1 {
		t.Fatalf("the long job ended %s on attempt %d", j.State, j.Attempt)
	}
	if j := e.apiJob(ahead); j.Attempt != 1 {
		t.Fatalf("the job fetched ahead lost its lease: attempt %d", j.Attempt)
	}
	var left []any
	e.client.run(&left, "delete", ahead)
	if fmt.Sprint(left) != fmt.Sprintf("[%s %s %s]", first, id, long) {
		t.Fatalf("after delete, jobs = %v", left)
	}
}

func TestOldProtocolCancel(t *testing.T) {
	t.Parallel()
	e := startOld(t, []string{"snooze"})
	id := e.submit("snooze", 300)
	w := e.worker("w1", "q1", "--jobs", "1")
	e.waitStatus(id, "ACTIVE")
	if ans := e.client.doc("stop", id); ans["status"] != "CANCEL" {
		t.Fatalf("stop answered %v", ans)
	}
	w.WaitLog(t, regexp.MustCompile(`job `+id+` is CANCEL: stopping it`), time.Minute)
	w.WaitLog(t, regexp.MustCompile(`posted job `+id+` CANCEL`), time.Minute)
	res := e.client.doc("results", id)
	wantKeys(t, "results of a cancelled job", res, "id", "message", "status")
	if res["status"] != "CANCEL" || res["message"] != "Job canceled" {
		t.Fatalf("results = %v", res)
	}
	if j := e.apiJob(id); j.State != job.Cancel {
		t.Fatalf("the API shows %s", j.State)
	}
	// Stopping a finished job changes nothing.
	if ans := e.client.doc("stop", id); ans["status"] != "CANCEL" {
		t.Fatalf("second stop answered %v", ans)
	}
}

func TestOldProtocolWorkerIdentity(t *testing.T) {
	t.Parallel()
	e := startOld(t, []string{"snooze"})
	id := e.submit("snooze", 300)
	w := e.worker("w1", "q1")
	e.waitStatus(id, "ACTIVE")
	post := func(worker, queue string) any {
		p := oldParty{t, e.URL, worker, e.tokens[worker], oldScript(t, "oldworker.py")}
		return p.doc("post", queue, id, `{"status": "COMPLETE", "result": "forged"}`)["code"]
	}
	if c := post("w2", "q1"); c != 404.0 {
		t.Errorf("another identity's postjob answered %v, want 404", c)
	}
	if c := post("w1", "q2"); c != 404.0 {
		t.Errorf("another queue's postjob answered %v, want 404", c)
	}
	// Nor may another identity read the job's status.
	code, body, _ := call(t, "GET", e.URL+"/jobs/"+id+"/status.json", e.tokens["w2"], "", nil)
	wantError(t, code, body, 404)

	// The worker dies: after the normal lease its job is queued again.
	w.Cmd.Process.Kill()
	<-w.Ended
	e.waitStatus(id, "PENDING")
	if j := e.apiJob(id); j.Attempt != 2 {
		t.Fatalf("requeued job has attempt %d, want 2", j.Attempt)
	}
	w2 := e.worker("w2", "q2", "--jobs", "1")
	e.waitStatus(id, "ACTIVE")
	if j := e.apiJob(id); j.Worker != "q2" {
		t.Fatalf("job held by %q, want q2", j.Worker)
	}
	e.client.doc("stop", id)
	w2.WaitLog(t, regexp.MustCompile(`posted job `+id+` CANCEL`), time.Minute)
}

// --legacy-worker-services: old workers get only the services listed, and
// by default every service.
func TestOldProtocolServices(t *testing.T) {
	t.Parallel()
	e := startOld(t, []string{"count"})
	api := e.Client(e.client.token)
	sleep, err := api.Submit(context.Background(), client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": 0}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := e.submit("count", 3)
	w := e.worker("w1", "q1", "--jobs", "1")
	if res := e.client.doc("wait", id); res["result"] != 3.0 {
		t.Fatalf("results = %v", res)
	}
	<-w.Ended
	if j, _ := api.Get(context.Background(), sleep.ID); j.State != job.Pending {
		t.Fatalf("a sleep job went to an old worker limited to count: %s", j.State)
	}
	// Services only old workers run are refused where none are named.
	all := startOld(t, nil)
	if ans := all.client.doc("submit", `{"service": "count", "data": 1}`); ans["code"] != 400.0 {
		t.Fatalf("a count job with no old-worker services answered %v, want 400", ans)
	}
	id = all.submit("sleep", map[string]any{"seconds": 0})
	all.worker("w1", "q1", "--jobs", "1")
	res := all.client.doc("wait", id)
	if res["status"] != "ERROR" || res["error"] != "ValueError: service <sleep> not available" {
		t.Fatalf("an old worker handed a sleep job answered %v", res)
	}
}

// A job deleted while an old worker runs it is DELETE to that worker, as
// the old server said, so the worker stops it instead of running it to
// the end; the job it fetched ahead and that was stopped meanwhile keeps
// its lease and ends as the worker reports it.
func TestOldProtocolDeleteWhileRunning(t *testing.T) {
	t.Parallel()
	e := startOld(t, []string{"snooze"})
	running, ahead := e.submit("snooze", 600), e.submit("snooze", 600)
	w := e.worker("w1", "q1", "--jobs", "2")
	w.WaitLog(t, regexp.MustCompile(`fetched job `+ahead+` ahead`), time.Minute)
	if ans := e.client.doc("stop", ahead); ans["status"] != "CANCEL" {
		t.Fatalf("stop of the job fetched ahead answered %v", ans)
	}
	var left []any
	e.client.run(&left, "delete", running)
	if fmt.Sprint(left) != "["+ahead+"]" {
		t.Fatalf("after delete, jobs = %v", left)
	}
	w.WaitLog(t, regexp.MustCompile(`job `+running+` is DELETE: stopping it`), time.Minute)
	// Its results have nowhere to go.
	w.WaitLog(t, regexp.MustCompile(`posting job `+running+` refused: .*404`), time.Minute)
	w.WaitLog(t, regexp.MustCompile(`job `+ahead+` is CANCEL: stopping it`), time.Minute)
	w.WaitLog(t, regexp.MustCompile(`posted job `+ahead+` CANCEL`), time.Minute)
	res := e.client.doc("results", ahead)
	if res["status"] != "CANCEL" || res["message"] != "Job canceled" {
		t.Fatalf("results of the job fetched ahead = %v", res)
	}
	if j := e.apiJob(ahead); j.Attempt != 1 {
		t.Fatalf("the job fetched ahead lost its lease: attempt %d", j.Attempt)
	}
	// Only a worker reads a deleted job as DELETE; its owner gets 404.
	code, body, _ := call(t, "GET", e.URL+"/jobs/"+running+"/status.json", e.client.token, "", nil)
	wantError(t, code, body, 404)
}
