package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

func TestAnonymousMode(t *testing.T) {
	t.Parallel()
	off := testenv.Start(t, controller.Config{Workers: 0})
	code, body, _ := call(t, "POST", off.URL+"/api/v1/anonymous/jobs", "", "application/json", strings.NewReader(`{"service":"sleep"}`))
	wantError(t, code, body, http.StatusNotFound) // off by default

	env := testenv.Start(t, controller.Config{Workers: 1, Server: server.Config{Anonymous: true, SubmitRate: 3}})
	code, body, hdr := call(t, "POST", env.URL+"/api/v1/anonymous/jobs", "", "application/json",
		strings.NewReader(`{"service":"sleep","spec":{"seconds":0,"message":"anon"}}`))
	if code != http.StatusCreated {
		t.Fatalf("anonymous submit: %d %s", code, body)
	}
	var got struct {
		ID         int64
		Owner      string
		Capability string
		URL        string
	}
	json.Unmarshal(body, &got)
	if !strings.HasPrefix(got.Capability, "cap_") || len(got.Capability) < 40 || got.Owner != server.AnonymousOwner ||
		hdr.Get("Location") != got.URL {
		t.Fatalf("answer = %s", body)
	}
	testenv.Eventually(t, 10e9, "the anonymous job completes", func() bool {
		code, body, _ := call(t, "GET", env.URL+got.URL, "", "", nil)
		return code == 200 && strings.Contains(string(body), `"COMPLETE"`)
	})
	code, body, _ = call(t, "GET", env.URL+got.URL+"/results", "", "", nil)
	if code != 200 || !strings.Contains(string(body), "anon") {
		t.Errorf("results by capability: %d %s", code, body)
	}
	// Neither a wrong capability nor the job's id without a token reach it;
	// another user's token does not either.
	stranger := env.User("stranger", store.RoleUser)
	for _, c := range []struct{ path, token string }{
		{"/api/v1/anonymous/jobs/cap_guess", ""},
		{"/api/v1/anonymous/jobs/" + got.Capability[:len(got.Capability)-1], ""},
		{"/api/v1/jobs/1", stranger},
	} {
		code, body, _ := call(t, "GET", env.URL+c.path, c.token, "", nil)
		wantError(t, code, body, http.StatusNotFound)
	}
	code, body, _ = call(t, "GET", env.URL+"/api/v1/jobs/1", "", "", nil)
	wantError(t, code, body, http.StatusUnauthorized)
	// The name is reserved: no user can own the anonymous jobs.
	if _, err := controller.AddUser(t.Context(), env.C.Store, server.AnonymousOwner, store.RoleUser); err == nil {
		t.Error("a user named anonymous was created")
	}
	// Deleting through the capability removes the job.
	code, _, _ = call(t, "DELETE", env.URL+got.URL, "", "", nil)
	if code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	code, body, _ = call(t, "GET", env.URL+got.URL, "", "", nil)
	wantError(t, code, body, http.StatusNotFound)
	// Submissions are rate-limited per address.
	limited := false
	for range 10 {
		code, _, _ := call(t, "POST", env.URL+"/api/v1/anonymous/jobs", "", "application/json", strings.NewReader(`{"service":"sleep"}`))
		limited = limited || code == http.StatusTooManyRequests
	}
	if !limited {
		t.Error("ten anonymous submissions at once were all accepted at 3 per second")
	}
}
