package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/testenv"
)

// exerciseNotifications answers the notification routes with success
// and with the refusals of bad input. The job is never run: its
// notification waits, with an empty log.
func exerciseNotifications(t *testing.T, c *apiCheck, env *testenv.Env, alice string) {
	send := func(method, path, body string, codes ...int) []byte {
		t.Helper()
		code, b := must(c.do(method, path, alice, "application/json", strings.NewReader(body)))
		expect(t, method+" "+path, code, b, codes...)
		return b
	}
	j := decode[idOnly](t, send("POST", "/api/v1/jobs", `{"service":"sleep","spec":{},"notify":{"webhook":"https://hooks.example.org/x"}}`, 201))
	b := send("GET", fmt.Sprintf("/api/v1/jobs/%d/notifications", j.ID), "", 200)
	if !strings.Contains(string(b), `"status": "waiting"`) || !strings.Contains(string(b), `"log": []`) {
		t.Errorf("notifications of a PENDING job: %s; want one waiting, no log", b)
	}
	for body, want := range map[string]string{
		`{"service":"sleep","notify":{"webhook":"http://hooks.example.org/x"}}`: "notify.webhook",
		`{"service":"sleep","notify":{"email":"not an address"}}`:               "notify.email",
		`{"service":"sleep","notify":{"email":"a@example.org"}}`:                "serve --smtp", // no SMTP server here
		`{"service":"sleep","notify":{"sms":"123"}}`:                            "sms",
	} {
		if b := send("POST", "/api/v1/jobs", body, 400); !strings.Contains(string(b), want) {
			t.Errorf("submit %s: %s; want the error to name %q", body, b, want)
		}
	}
	send("PUT", "/api/v1/me/notify", `{"webhook":"https://hooks.example.org/default"}`, 200)
	send("PUT", "/api/v1/me/notify", `{"webhook":"ftp://x"}`, 400)
	if b := send("GET", "/api/v1/me/notify", "", 200); !strings.Contains(string(b), "hooks.example.org/default") {
		t.Errorf("default after PUT: %s", b)
	}
	first := send("POST", "/api/v1/me/webhook-secret", "", 200)
	if again := send("POST", "/api/v1/me/webhook-secret", "", 200); string(again) != string(first) {
		t.Errorf("secret changed without rotate: %s then %s", first, again)
	}
	if rotated := send("POST", "/api/v1/me/webhook-secret?rotate=true", "", 200); string(rotated) == string(first) {
		t.Errorf("rotate kept the secret %s", first)
	}
	send("POST", "/api/v1/me/webhook-secret?rotate=perhaps", "", 400)
}
