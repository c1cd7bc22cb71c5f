package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The admin page's forms: drain and resume the local slots, requeue a
// job, set its priority, cancel a user's jobs; a bad value is named on
// the page; a user's session cannot post them; the log has each change.
func TestAdminForms(t *testing.T) {
	t.Parallel()
	log := &testenv.Log{}
	env := testenv.Start(t, controller.Config{Workers: 1, Name: "slots", Logger: log.Logger()})
	alice := env.User("alice", store.RoleUser)
	ctx := context.Background()
	a := newBrowser(t, env.URL)
	a.login(env.AdminToken)
	csrf := a.csrf("/ui/admin")
	post := func(b *browser, form url.Values, wantCode int) (string, string) {
		t.Helper()
		form.Set("csrf_token", csrf)
		resp, page := b.do("POST", "/ui/admin", form)
		if resp.StatusCode != wantCode {
			t.Fatalf("POST /ui/admin %v: %s, want %d\n%s", form, resp.Status, wantCode, grep(page, "error"))
		}
		return resp.Header.Get("Location"), page
	}

	post(a, url.Values{"action": {"drain"}, "worker": {"slots"}}, http.StatusSeeOther)
	if _, page := a.do("GET", "/ui/admin", nil); !strings.Contains(page, `value="resume">Resume</button>`) {
		t.Errorf("the admin page does not offer to resume the drained slots:\n%s", grep(page, "slots"))
	}
	id := sleepJob(t, env.Client(alice), 0) // waits: the only slots are drained
	if loc, _ := post(a, url.Values{"action": {"priority"}, "job": {itoa(id)}, "priority": {"12"}}, http.StatusSeeOther); loc != "/ui/jobs/"+itoa(id) {
		t.Errorf("priority form went to %q", loc)
	}
	if j, _ := env.C.Store.GetJob(ctx, id); j.Priority != 12 || j.State != job.Pending {
		t.Errorf("after the priority form: %+v", j)
	}
	_, page := post(a, url.Values{"action": {"priority"}, "job": {itoa(id)}, "priority": {"high"}}, http.StatusBadRequest)
	if !strings.Contains(page, `priority: &#34;high&#34; is not a whole number from -100 to 100`) {
		t.Errorf("a bad priority is not named on the page:\n%s", grep(page, "error"))
	}
	post(a, url.Values{"action": {"reboot"}}, http.StatusBadRequest)
	post(a, url.Values{"action": {"requeue"}, "job": {"99999"}}, http.StatusNotFound)

	post(a, url.Values{"action": {"cancel-user"}, "user": {"alice"}}, http.StatusSeeOther)
	if j, _ := env.C.Store.GetJob(ctx, id); j.State != job.Cancel {
		t.Errorf("after cancelling alice's jobs, her job is %s", j.State)
	}
	post(a, url.Values{"action": {"requeue"}, "job": {itoa(id)}}, http.StatusSeeOther)
	post(a, url.Values{"action": {"resume"}, "worker": {"slots"}}, http.StatusSeeOther)
	testenv.Eventually(t, 10*time.Second, "the requeued job runs once the slots are resumed", func() bool {
		j, _ := env.C.Store.GetJob(ctx, id)
		return j.State == job.Complete && j.Attempt == 2
	})

	// A user's session: the form is refused (403), as the page is.
	b := newBrowser(t, env.URL)
	b.login(alice)
	csrf = b.csrf("/ui/submit")
	post(b, url.Values{"action": {"drain"}, "worker": {"slots"}}, http.StatusForbidden)
	for _, line := range []string{"audit: worker drained", "audit: job priority set", "audit: user's jobs cancelled", "audit: job requeued", "audit: worker resumed"} {
		if log.Lines(line) != 1 {
			t.Errorf("log lines with %q: %d, want 1", line, log.Lines(line))
		}
	}
}
