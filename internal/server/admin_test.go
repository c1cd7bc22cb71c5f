package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// adminEnv is a controller with one local slot and its log.
func adminEnv(t *testing.T) (*testenv.Env, *testenv.Log) {
	log := &testenv.Log{}
	env := testenv.Start(t, controller.Config{Workers: 1, Name: "local-slots", Logger: log.Logger()})
	return env, log
}

func submitSleep(t *testing.T, env *testenv.Env, token string, seconds float64) int64 {
	t.Helper()
	code, body, _ := call(t, "POST", env.URL+"/api/v1/jobs", token, "application/json",
		strings.NewReader(fmt.Sprintf(`{"service":"sleep","spec":{"seconds":%g}}`, seconds)))
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, body)
	}
	var j idOnly
	json.Unmarshal(body, &j)
	return j.ID
}

// stillPending fails if job id leaves PENDING within d: with its only
// executor drained, nothing may claim it.
func stillPending(t *testing.T, env *testenv.Env, id int64, d time.Duration) {
	t.Helper()
	sub := env.C.Queue.Events.Subscribe(id, "")
	defer sub.Close()
	if j, _ := env.C.Store.GetJob(context.Background(), id); j.State != job.Pending {
		t.Fatalf("job %d is %s, want PENDING", id, j.State)
	}
	deadline := time.After(d)
	for {
		select {
		case <-deadline:
			return
		case <-sub.Ready():
			for _, j := range sub.Take() {
				if j.State != job.Pending {
					t.Fatalf("job %d went %s on %q while its executor was drained", id, j.State, j.Worker)
				}
			}
		}
	}
}

// TestDrainLocalSlots: a drained executor finishes the job it runs and
// takes no new one until resumed; the drain is logged with the admin.
func TestDrainLocalSlots(t *testing.T) {
	t.Parallel()
	env, log := adminEnv(t)
	cl := env.Client(env.AdminToken)
	running := submitSleep(t, env, env.AdminToken, 3) // still running at the drain, under load too
	waitState(t, cl, running, 10*time.Second, job.Active)

	code, body, _ := call(t, "POST", env.URL+"/api/v1/workers/local-slots/drain", env.AdminToken, "", nil)
	if code != http.StatusOK {
		t.Fatalf("drain: %d %s", code, body)
	}
	var wk api.WorkerInfo
	json.Unmarshal(body, &wk)
	if !wk.Drained || !wk.Local || wk.Name != "local-slots" {
		t.Fatalf("drained worker = %s", body)
	}
	if j := waitState(t, cl, running, 10*time.Second, job.Complete, job.Error, job.Cancel); j.State != job.Complete {
		t.Fatalf("the job running at the drain ended %s (%s), want COMPLETE", j.State, j.Reason)
	}
	next := submitSleep(t, env, env.AdminToken, 0)
	stillPending(t, env, next, time.Second)

	code, body, _ = call(t, "POST", env.URL+"/api/v1/workers/local-slots/resume", env.AdminToken, "", nil)
	if code != http.StatusOK || strings.Contains(string(body), `"drained": true`) {
		t.Fatalf("resume: %d %s", code, body)
	}
	waitState(t, cl, next, 10*time.Second, job.Complete)
	if log.Lines("audit: worker drained") != 1 || log.Lines("audit: worker resumed") != 1 || log.Lines("by=admin") != 2 {
		t.Errorf("the log does not record the drain and resume by admin:\n%s", log.String())
	}
}

// TestDrainIsKept: a drain is in the store, not only in the memory of
// the process: another controller on the same data (a restart) knows it.
func TestDrainIsKept(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	first := testenv.Start(t, controller.Config{Workers: 0, Data: data})
	if err := first.C.Queue.Drain(context.Background(), "farm-1", "admin"); err != nil {
		t.Fatal(err)
	}
	again, err := controller.Open(context.Background(), controller.Config{Data: data, Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	ws, err := again.Server.Workers(context.Background())
	if err != nil || len(ws) != 1 || ws[0].Name != "farm-1" || !ws[0].Drained {
		t.Fatalf("workers after a restart = %+v, %v; want farm-1 drained", ws, err)
	}
}

// TestDrainRemoteWorker: a remote worker learns of its drain at its next
// heartbeat and claim; its held job is still taken; after a resume it
// gets work again.
func TestDrainRemoteWorker(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	wk := env.User("farm", store.RoleWorker)
	id := submitSleep(t, env, env.AdminToken, 0)
	claim := func() api.ClaimResponse {
		t.Helper()
		code, body, _ := call(t, "POST", env.URL+"/api/v1/worker/claim", wk, "application/json",
			strings.NewReader(`{"name":"r1","slots":2,"free":2,"wait_seconds":0}`))
		if code != http.StatusOK {
			t.Fatalf("claim: %d %s", code, body)
		}
		var cr api.ClaimResponse
		json.Unmarshal(body, &cr)
		return cr
	}
	cr := claim()
	if len(cr.Jobs) != 1 || cr.Drain {
		t.Fatalf("first claim = %+v", cr)
	}
	if code, body, _ := call(t, "POST", env.URL+"/api/v1/workers/r1/drain", env.AdminToken, "", nil); code != http.StatusOK {
		t.Fatalf("drain: %d %s", code, body)
	}
	code, body, _ := call(t, "POST", fmt.Sprintf("%s/api/v1/worker/jobs/%d/heartbeat", env.URL, id), wk, "application/json",
		strings.NewReader(fmt.Sprintf(`{"token":%q,"name":"r1"}`, cr.Jobs[0].LeaseToken)))
	var hb api.HeartbeatResponse
	json.Unmarshal(body, &hb)
	if code != http.StatusOK || !hb.Drain || hb.Cancel {
		t.Fatalf("heartbeat of a drained worker: %d %s; want drain", code, body)
	}
	ctype, form := completion(fmt.Sprintf(`{"token":%q,"state":"COMPLETE","result":{},"next":{"name":"r1","free":2}}`, cr.Jobs[0].LeaseToken), nil)
	other := submitSleep(t, env, env.AdminToken, 0)
	code, body, _ = call(t, "POST", fmt.Sprintf("%s/api/v1/worker/jobs/%d/complete", env.URL, id), wk, ctype, form)
	var next api.ClaimResponse
	json.Unmarshal(body, &next)
	if code != http.StatusOK || len(next.Jobs) != 0 || !next.Drain {
		t.Fatalf("completion of a drained worker's job: %d %s; want it taken, no next job, drain", code, body)
	}
	if cr := claim(); len(cr.Jobs) != 0 || !cr.Drain {
		t.Fatalf("claim while drained = %+v", cr)
	}
	if code, body, _ := call(t, "POST", env.URL+"/api/v1/workers/r1/resume", env.AdminToken, "", nil); code != http.StatusOK {
		t.Fatalf("resume: %d %s", code, body)
	}
	if cr := claim(); len(cr.Jobs) != 1 || cr.Jobs[0].ID != other || cr.Drain {
		t.Fatalf("claim after resume = %+v, want job %d", cr, other)
	}
}

// TestRequeueRunningJob: requeueing an ACTIVE job stops its run and runs
// it again as a new attempt.
func TestRequeueRunningJob(t *testing.T) {
	t.Parallel()
	env, log := adminEnv(t)
	cl := env.Client(env.AdminToken)
	id := submitSleep(t, env, env.AdminToken, 4) // still running at the requeue
	waitState(t, cl, id, 10*time.Second, job.Active)
	code, body, _ := call(t, "POST", fmt.Sprintf("%s/api/v1/jobs/%d/requeue", env.URL, id), env.AdminToken, "", nil)
	var j job.Job
	json.Unmarshal(body, &j)
	if code != http.StatusOK || j.Attempt != 2 {
		t.Fatalf("requeue: %d %s; want attempt 2", code, body)
	}
	final := waitState(t, cl, id, 30*time.Second, job.Complete, job.Error, job.Cancel)
	if final.State != job.Complete || final.Attempt != 2 {
		t.Fatalf("requeued job ended %s attempt %d (%s), want COMPLETE on attempt 2", final.State, final.Attempt, final.Reason)
	}
	if log.Lines("audit: job requeued") != 1 {
		t.Errorf("the requeue is not in the log:\n%s", log.String())
	}
}

// TestCancelUserJobs: every live job of one user ends (the running one
// stopped by its executor); other users' jobs run on; only admins may.
func TestCancelUserJobs(t *testing.T) {
	t.Parallel()
	env, _ := adminEnv(t)
	bob, carol := env.User("bob", store.RoleUser), env.User("carol", store.RoleUser)
	cl := env.Client(env.AdminToken)
	running := submitSleep(t, env, bob, 30)
	waitState(t, cl, running, 10*time.Second, job.Active)
	queued := submitSleep(t, env, bob, 0)
	theirs := submitSleep(t, env, carol, 0)

	code, body, _ := call(t, "POST", env.URL+"/api/v1/users/bob/cancel", carol, "", nil)
	wantError(t, code, body, http.StatusForbidden, "admin")
	code, body, _ = call(t, "POST", env.URL+"/api/v1/users/bob/cancel", env.AdminToken, "", nil)
	var uc api.UserCancel
	json.Unmarshal(body, &uc)
	if code != http.StatusOK || fmt.Sprint(uc.Cancelled) != fmt.Sprint([]int64{queued}) || fmt.Sprint(uc.Stopping) != fmt.Sprint([]int64{running}) {
		t.Fatalf("cancel bob's jobs: %d %s", code, body)
	}
	if j := waitState(t, cl, running, 10*time.Second, job.Complete, job.Error, job.Cancel); j.State != job.Cancel {
		t.Errorf("bob's running job ended %s, want CANCEL", j.State)
	}
	waitState(t, cl, theirs, 10*time.Second, job.Complete)
}

// idleWorker makes a worker "idle-walker" known to the controller (a
// claim of nothing), for the walk's drain and resume: draining "walker"
// itself would starve the walk's later claims.
func (w *walk) idleWorker(t *testing.T) map[string]string {
	if _, err := w.wk.Claim(context.Background(), api.ClaimRequest{Name: "idle-walker", Slots: 1, Free: 0}); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"name": "idle-walker"}
}

// TestDrainNotice: a worker's client hears of its drain and resume in the
// answers to its claims, once per change, as `bumpserve worker` logs it.
func TestDrainNotice(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	var heard []bool
	cl, err := client.New(env.URL, env.User("farm", store.RoleWorker), client.Options{OnDrain: func(d bool) { heard = append(heard, d) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	claim := func() {
		t.Helper()
		if _, err := cl.Claim(ctx, api.ClaimRequest{Name: "n1", Slots: 1, Free: 1}); err != nil {
			t.Fatal(err)
		}
	}
	claim() // not drained: nothing to hear
	admin := env.Client(env.AdminToken)
	if _, err := admin.DrainWorker(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	claim()
	claim()
	if _, err := admin.ResumeWorker(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	claim()
	if fmt.Sprint(heard) != "[true false]" {
		t.Errorf("the worker heard %v, want [true false]", heard)
	}
}
