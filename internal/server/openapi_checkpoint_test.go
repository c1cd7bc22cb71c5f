package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/fit"
)

// exerciseWorkerCheckpoints carries a DREAM fit's state through the
// worker routes, as HTTP workers do: the holder sends its checkpoint,
// a stray body does not replace it, the next attempt's claim announces
// it and its worker fetches it; sent as the final state of an ended fit,
// it is what a continuing job's worker fetches.
func exerciseWorkerCheckpoints(t *testing.T, c *apiCheck, user, wk string) {
	const spec = `{"fitter":"dream","options":{"seed":3,"samples":200,"burn":20},"parameters":{"a":{"value":1,"min":0,"max":5}},` +
		`"datasets":[{"model":"a*x","x":[1,2,3],"y":[1.1,1.9,3.2],"dy":[0.1,0.1,0.1]}]}`
	s, _ := fit.ParseSpec([]byte(spec))
	var state []byte
	if _, err := fit.Run(context.Background(), s, fit.Options{Checkpoint: func(c fit.Checkpoint) error { state = c.Data; return nil }}); err != nil {
		t.Fatal(err)
	}
	code, b := must(c.do("POST", "/api/v1/jobs", user, "application/json", strings.NewReader(`{"service":"fit","spec":`+spec+`}`)))
	expect(t, "submit", code, b, 201)
	id := decode[idOnly](t, b).ID

	// claim takes job id of service svc (handing back any other).
	svc := "fit"
	claim := func() api.ClaimedJob {
		t.Helper()
		code, b := must(c.do("POST", "/api/v1/worker/claim", wk, "application/json",
			strings.NewReader(fmt.Sprintf(`{"name":"wk-ckpt","slots":64,"free":64,"services":[%q],"wait_seconds":0}`, svc))))
		expect(t, "claim", code, b, 200)
		var mine *api.ClaimedJob
		for _, j := range decode[api.ClaimResponse](t, b).Jobs {
			if j.ID == id {
				mine = &j
				continue
			}
			must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/release", j.ID), wk, "application/json",
				strings.NewReader(fmt.Sprintf(`{"token":%q}`, j.LeaseToken))))
		}
		if mine == nil {
			t.Fatalf("job %d was not claimed: %s", id, b)
		}
		return *mine
	}
	leased := func(method, path, token string, body []byte, codes ...int) []byte {
		t.Helper()
		code, b, _ := c.send(method, path, "application/octet-stream", bytes.NewReader(body), func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+wk)
			r.Header.Set("X-Lease-Token", token)
		})
		expect(t, method+" "+path, code, b, codes...)
		return b
	}
	ckpt := fmt.Sprintf("/api/v1/worker/jobs/%d/checkpoint", id)

	first := claim()
	if first.Checkpoint != 0 || first.Continue != 0 {
		t.Errorf("a new fit's claim announces saved state: %+v", first)
	}
	leased("GET", ckpt, first.LeaseToken, nil, 404)
	leased("PUT", ckpt, first.LeaseToken, state, 204)
	leased("PUT", ckpt, first.LeaseToken, []byte("junk that is no checkpoint"), 400)
	leased("PUT", ckpt, "forged", state[:100], 409)
	must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/release", id), wk, "application/json",
		strings.NewReader(fmt.Sprintf(`{"token":%q}`, first.LeaseToken))))

	// The next attempt: its claim says a checkpoint is kept, and it is
	// the one sent, byte for byte; the old lease can no longer send one.
	second := claim()
	if second.Checkpoint != int64(len(state)) {
		t.Errorf("claim announces a checkpoint of %d bytes; %d were kept", second.Checkpoint, len(state))
	}
	if got := leased("GET", ckpt, second.LeaseToken, nil, 200); !bytes.Equal(got, state) {
		t.Errorf("GET checkpoint: %d bytes, not the %d sent", len(got), len(state))
	}
	leased("PUT", ckpt, first.LeaseToken, state, 409)

	// It ends; continued, the new job's worker fetches that final state.
	ctype, body := completion(fmt.Sprintf(`{"token":%q,"state":"COMPLETE","result":{}}`, second.LeaseToken), nil)
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/complete", id), wk, ctype, body))
	expect(t, "complete", code, b, 204)
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/jobs/%d/resume", id), user, "application/json", strings.NewReader(`{"samples":100}`)))
	expect(t, "resume", code, b, 201)
	id = decode[idOnly](t, b).ID
	cont := claim()
	if cont.Continue != int64(len(state)) || cont.Checkpoint != 0 {
		t.Errorf("continuing job's claim: checkpoint %d, continue %d; want 0 and %d", cont.Checkpoint, cont.Continue, len(state))
	}
	if got := leased("GET", fmt.Sprintf("/api/v1/worker/jobs/%d/continue", id), cont.LeaseToken, nil, 200); !bytes.Equal(got, state) {
		t.Errorf("GET continue: %d bytes, not the %d of the ended fit", len(got), len(state))
	}

	// A bumps job's packed DREAM state goes the same way (its content is
	// the resume's to check, TestSentBumpsState); a fit checkpoint is
	// not one, and a bumps job continues nothing.
	ctype, body = submissionParts(`{"service":"bumps","spec":{"model":"m.py","fitter":"dream"}}`, map[string]string{"m.py": "pass\n"})
	code, b = must(c.do("POST", "/api/v1/jobs", user, ctype, body))
	expect(t, "submit bumps", code, b, 201)
	id, svc = decode[idOnly](t, b).ID, "bumps"
	ckpt = fmt.Sprintf("/api/v1/worker/jobs/%d/checkpoint", id)
	packed := []byte("bumpserve bumps DREAM state 1\nthe tar of the three state files")
	bj := claim()
	leased("PUT", ckpt, bj.LeaseToken, state, 400)
	leased("PUT", ckpt, bj.LeaseToken, packed, 204)
	leased("GET", fmt.Sprintf("/api/v1/worker/jobs/%d/continue", id), bj.LeaseToken, nil, 404)
	must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/release", id), wk, "application/json",
		strings.NewReader(fmt.Sprintf(`{"token":%q}`, bj.LeaseToken))))
	bj = claim()
	if bj.Checkpoint != int64(len(packed)) || bj.Continue != 0 {
		t.Errorf("bumps job's claim: checkpoint %d, continue %d; want %d and 0", bj.Checkpoint, bj.Continue, len(packed))
	}
	if got := leased("GET", ckpt, bj.LeaseToken, nil, 200); !bytes.Equal(got, packed) {
		t.Errorf("GET a bumps job's checkpoint: %q, not the state sent", got)
	}
	must(c.do("POST", fmt.Sprintf("/api/v1/worker/jobs/%d/release", id), wk, "application/json",
		strings.NewReader(fmt.Sprintf(`{"token":%q}`, bj.LeaseToken))))
	code, b = must(c.do("POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", id), user, "", nil))
	expect(t, "cancel the bumps job", code, b, 200)
}
