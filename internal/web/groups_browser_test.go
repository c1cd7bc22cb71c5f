package web_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestBrowserSharedJob: a member of the group a fit is shared with finds
// it under "Shared with your groups", reads its page (owner, groups,
// results) with none of the forms that change it, and copies it as their
// own with the page's button: the copy is theirs, with the same input
// file, and its page offers them everything.
func TestBrowserSharedJob(t *testing.T) {
	env := testenv.Start(t, controller.Config{Workers: 1})
	alice, carol := env.User("alice", store.RoleUser), env.User("carol", store.RoleUser)
	ctx0 := context.Background()
	makeGroup(t, env, "optics", "alice", "carol")
	spec, err := os.ReadFile(examples(t, "line", "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := env.Client(alice).Submit(ctx0, client.Submission{Name: "line", Service: "fit", Spec: spec, Groups: []string{"optics"}},
		[]client.Upload{{Name: "data.txt", Path: examples(t, "line", "data.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 2*time.Minute, "the shared fit completes", func() bool {
		got, err := env.Client(alice).Get(ctx0, j.ID)
		return err == nil && got.State == "COMPLETE"
	})

	ctx := startBrowser(t)
	signIn(t, ctx, env.URL, carol)
	step(t, ctx, "open the shared list", chromedp.Navigate(env.URL+"/ui/jobs"), chromedp.WaitVisible(chromedp.ID("shared-jobs")),
		chromedp.Click(chromedp.ID("shared-jobs")), chromedp.WaitVisible(chromedp.ID("jobs")))
	row := testenv.Eval[[]string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll("#jobs tr[data-job-id='%d'] td")].map(td => td.textContent.trim())`, j.ID))
	if len(row) < 3 || !strings.HasPrefix(row[0], "line") || row[2] != "alice" {
		t.Fatalf("the shared list's row = %q; want the fit, its owner alice", row)
	}
	if h1 := testenv.Eval[string](t, ctx, `document.querySelector("h1").textContent`); h1 != "Shared with your groups" {
		t.Errorf("the shared list's heading is %q", h1)
	}

	step(t, ctx, "open the shared job", chromedp.Click(chromedp.CSS(fmt.Sprintf("#jobs tr[data-job-id='%d'] a", j.ID))),
		chromedp.WaitVisible(chromedp.ID("params")))
	facts := testenv.Eval[[]string](t, ctx, `["owner", "groups"].map(id => document.getElementById(id)?.textContent ?? "")`)
	if facts[0] != "alice" || facts[1] != "optics" {
		t.Errorf("owner and groups shown: %q; want alice and optics", facts)
	}
	if forms := testenv.Eval[[]string](t, ctx, `[...document.querySelectorAll(".actions form")].map(f => f.id)`); len(forms) != 1 || forms[0] != "copy-form" {
		t.Errorf("forms on the shared job's page: %q; want only the copy button", forms)
	}
	if !testenv.Eval[bool](t, ctx, `!!document.getElementById("read-only")`) {
		t.Errorf("the page does not say the job is read-only")
	}
	screenshot(t, ctx, "shared-job", false)

	step(t, ctx, "copy it", chromedp.Click(chromedp.ID("copy")), chromedp.WaitVisible(chromedp.ID("delete-form")))
	loc := testenv.Eval[string](t, ctx, `location.href`)
	var id int64
	if _, err := fmt.Sscanf(loc, env.URL+"/ui/jobs/%d", &id); err != nil || id == j.ID {
		t.Fatalf("after the copy the browser is at %s", loc)
	}
	if testenv.Eval[bool](t, ctx, `!!document.getElementById("read-only")`) {
		t.Errorf("the copy's page says it is read-only")
	}
	cp, err := env.Client(carol).Get(ctx0, id)
	if err != nil || cp.Owner != "carol" || cp.Service != "fit" || len(cp.Groups) != 0 {
		t.Fatalf("the copy = %+v, %v; want carol's fit, shared with no one", cp, err)
	}
	rc, err := env.Client(carol).Download(ctx0, id, "input/data.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if want, _ := os.ReadFile(examples(t, "line", "data.txt")); string(got) != string(want) {
		t.Errorf("the copy's data.txt differs from the original's")
	}
}

// TestBrowserSharedListIsLive: the list of jobs shared with a user
// follows its rows as they change, without a reload, and its feed
// carries none of the owner's other jobs, even when asked for them.
func TestBrowserSharedListIsLive(t *testing.T) {
	env := testenv.Start(t, controller.Config{Workers: 2})
	alice, carol := env.User("alice", store.RoleUser), env.User("carol", store.RoleUser)
	ctx0 := context.Background()
	makeGroup(t, env, "optics", "alice", "carol")
	owner := env.Client(alice)
	long := []byte(`{"seconds": 600}`)
	shared, err := owner.Submit(ctx0, client.Submission{Name: "shared", Service: "sleep", Spec: long, Groups: []string{"optics"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	private, err := owner.Submit(ctx0, client.Submission{Name: "private", Service: "sleep", Spec: long}, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx := startBrowser(t)
	signIn(t, ctx, env.URL, carol)
	step(t, ctx, "open the shared list", chromedp.Navigate(env.URL+"/ui/jobs?shared=1"), chromedp.WaitVisible(chromedp.ID("jobs")))
	if n := testenv.Eval[int](t, ctx, `document.querySelectorAll("#jobs tbody tr").length`); n != 1 {
		t.Fatalf("the shared list shows %d rows; want the one shared job", n)
	}
	// A second feed asks for both jobs by id; a reload would drop the mark.
	testenv.Eval[bool](t, ctx, fmt.Sprintf(`window.seen = []; window.stayed = true;
		new EventSource(%q).addEventListener("job", ev => { const j = JSON.parse(ev.data); window.seen.push([j.id, j.state]); }); true`,
		fmt.Sprintf("/ui/jobs/events?shared=1&ids=%d,%d", shared.ID, private.ID)))
	saw := func(id int64, state string) string {
		return fmt.Sprintf(`window.seen.some(([id, st]) => id === %d && (%q === "" || st === %q))`, id, state, state)
	}
	// The feed starts with the rows' state: once that came, it is subscribed.
	testenv.WaitScript(t, ctx, time.Minute, "the second feed starts with the shared job", saw(shared.ID, ""))
	cellState := fmt.Sprintf(`document.querySelector("#jobs tr[data-job-id='%d'] .state").textContent`, shared.ID)

	// The private job ends first: were it carried, it would come first.
	for _, id := range []int64{private.ID, shared.ID} {
		if _, err := owner.Cancel(ctx0, id); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitScript(t, ctx, time.Minute, "the shared job's row shows CANCEL without a reload", cellState+` === "CANCEL"`)
	testenv.WaitScript(t, ctx, time.Minute, "the second feed carries the shared job's end", saw(shared.ID, "CANCEL"))
	if testenv.Eval[bool](t, ctx, saw(private.ID, "")) {
		t.Errorf("carol's feed carried alice's private job %d: %v", private.ID, testenv.Eval[[][]any](t, ctx, `window.seen`))
	}
	if !testenv.Eval[bool](t, ctx, `window.stayed === true`) {
		t.Errorf("the page reloaded to show the change")
	}
}

// makeGroup has the admin make group name of users.
func makeGroup(t *testing.T, env *testenv.Env, name string, users ...string) {
	t.Helper()
	ctx := context.Background()
	ac := env.Client(env.AdminToken)
	if _, err := ac.CreateGroup(ctx, name); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := ac.SetGroupMember(ctx, name, u, true); err != nil {
			t.Fatal(err)
		}
	}
}
