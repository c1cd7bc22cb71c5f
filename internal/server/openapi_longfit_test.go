package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// exerciseLongFits answers stop and resume with success: a fit job held
// by a runner of this server (claimed straight from the queue, as local
// slots do) is stopped, and an ended DREAM fit with its final state in
// its directory is continued.
func exerciseLongFits(t *testing.T, c *apiCheck, env *testenv.Env, alice string) {
	ctx := context.Background()
	const spec = `{"fitter":"dream","options":{"seed":2,"samples":200,"burn":20},"parameters":{"a":{"value":1,"min":0,"max":5}},` +
		`"datasets":[{"model":"a*x","x":[1,2,3],"y":[1.1,1.9,3.2],"dy":[0.1,0.1,0.1]}]}`
	post := func(path, body string, codes ...int) []byte {
		t.Helper()
		code, b := must(c.do("POST", path, alice, "application/json", strings.NewReader(body)))
		expect(t, "POST "+path, code, b, codes...)
		return b
	}
	j := decode[idOnly](t, post("/api/v1/jobs", `{"service":"fit","spec":`+spec+`}`, 201))
	claimed, err := env.C.Queue.Claim(ctx, queue.ClaimRequest{Worker: "local-check", Services: []string{"fit"}, FreeCPUs: 4, Max: 1})
	if err != nil || len(claimed) != 1 || claimed[0].ID != j.ID {
		t.Fatalf("claim the fit job: %v %v", claimed, err)
	}
	post(fmt.Sprintf("/api/v1/jobs/%d/stop", j.ID), "", 202)
	post(fmt.Sprintf("/api/v1/jobs/%d/resume", j.ID), `{"samples":100}`, 409) // still running
	// Heartbeats under the job's lease answer the stop, as to a remote
	// worker holding it.
	wk := env.User("stopfarm", store.RoleWorker)
	tok := claimed[0].Lease.Token
	code, b := must(c.do("POST", "/api/v1/worker/heartbeats", wk, "application/json",
		strings.NewReader(fmt.Sprintf(`{"name":"wk-stop","jobs":[{"id":%d,"token":%q}]}`, j.ID, tok))))
	expect(t, "POST heartbeats", code, b, 200)
	if got := decode[api.HeartbeatsResponse](t, b); len(got.Jobs) != 1 || !got.Jobs[0].Stop || got.Jobs[0].Cancel {
		t.Errorf("heartbeats after a stop = %s; want stop and no cancel", b)
	}
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/heartbeat", j.ID), wk, "application/json",
		strings.NewReader(fmt.Sprintf(`{"token":%q}`, tok))))
	expect(t, "POST heartbeat", code, b, 200)
	if got := decode[api.HeartbeatResponse](t, b); !got.Stop || got.Cancel {
		t.Errorf("heartbeat after a stop = %s; want stop and no cancel", b)
	}

	// It ends, leaving its final state where the service leaves it.
	s, _ := fit.ParseSpec([]byte(spec))
	var final []byte
	res, err := fit.Run(ctx, s, fit.Options{Checkpoint: func(c fit.Checkpoint) error { final = c.Data; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.Data, "jobs", fmt.Sprint(j.ID))
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "checkpoint.fit"), final, 0o600); err != nil {
		t.Fatal(err)
	}
	result, _ := json.Marshal(res)
	if _, err := env.C.Queue.Finish(ctx, j.ID, claimed[0].Lease.Token, queue.Result{State: job.Complete, Result: result}); err != nil {
		t.Fatal(err)
	}
	post(fmt.Sprintf("/api/v1/jobs/%d/stop", j.ID), "", 409)
	post(fmt.Sprintf("/api/v1/jobs/%d/resume", j.ID), `{"samples":0}`, 400)
	post(fmt.Sprintf("/api/v1/jobs/%d/resume", j.ID), `{"samples":100,"name":"more"}`, 201)
}
