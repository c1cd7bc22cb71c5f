package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// exerciseGroups (part of TestOpenAPI, so every answer is held to the
// description) follows a job shared with a group: what its members and
// others may do, its copy, and the listings, which must not leak it.
func exerciseGroups(t *testing.T, c *apiCheck, env *testenv.Env) {
	admin := env.AdminToken
	gina, hal, ivo := env.User("gina", store.RoleUser), env.User("hal", store.RoleUser), env.User("ivo", store.RoleUser)
	call := func(method, path, tok, body string, codes ...int) []byte {
		t.Helper()
		code, b := must(c.do(method, path, tok, "application/json", strings.NewReader(body)))
		expect(t, method+" "+path, code, b, codes...)
		return b
	}

	// An admin makes the groups: gina and hal in optics; gina and ivo in bio.
	call("POST", "/api/v1/groups", admin, `{"name":"optics"}`, 201)
	call("POST", "/api/v1/groups", admin, `{"name":"bio"}`, 201)
	call("POST", "/api/v1/groups", admin, `{"name":"optics"}`, 409)
	if b := call("POST", "/api/v1/groups", admin, `{"name":"no way"}`, 400); !strings.Contains(string(b), "name") {
		t.Errorf("a bad group name: %s; want the field named", b)
	}
	call("POST", "/api/v1/groups", gina, `{"name":"mine"}`, 403)
	for _, m := range []string{"optics/members/gina", "optics/members/hal", "bio/members/gina", "bio/members/ivo"} {
		call("POST", "/api/v1/groups/"+m, admin, "", 200)
	}
	call("POST", "/api/v1/groups/optics/members/nobody", admin, "", 404)
	call("POST", "/api/v1/groups/nothing/members/hal", admin, "", 404)
	mine := decode[client.GroupList](t, call("GET", "/api/v1/groups", hal, "", 200))
	if len(mine.Groups) != 1 || mine.Groups[0].Name != "optics" || !slices.Equal(mine.Groups[0].Members, []string{"gina", "hal"}) {
		t.Errorf("hal's groups = %+v; want optics alone, with gina and hal", mine.Groups)
	}

	// gina shares a job with a file at submit; only her own groups are accepted.
	ctype, body := submissionParts(`{"name":"shared","service":"sleep","spec":{"seconds":0},"groups":["optics"]}`, map[string]string{"data.txt": "1 2\n"})
	code, b := must(c.do("POST", "/api/v1/jobs", gina, ctype, body))
	expect(t, "submit shared", code, b, 201)
	j := decode[client.Job](t, b)
	if b := call("POST", "/api/v1/jobs", hal, `{"service":"sleep","spec":{},"groups":["bio"]}`, 400); !strings.Contains(string(b), "groups") ||
		!strings.Contains(string(b), "optics") {
		t.Errorf("sharing with a group not one's own: %s; want the field and hal's groups named", b)
	}
	path := fmt.Sprintf("/api/v1/jobs/%d", j.ID)

	// hal reads it, never changes it; ivo, in another of gina's groups, cannot tell it exists.
	if got := decode[client.Job](t, call("GET", path, hal, "", 200)); !slices.Equal(got.Groups, []string{"optics"}) || got.Owner != "gina" {
		t.Errorf("the shared job as hal sees it: groups %v owner %s", got.Groups, got.Owner)
	}
	call("GET", path+"/files/input/data.txt", hal, "", 200)
	call("POST", path+"/cancel", hal, "", 403)
	call("DELETE", path, hal, "", 403)
	call("POST", path+"/share", hal, `{"groups":["optics"]}`, 403)
	call("GET", path, ivo, "", 404)
	call("POST", path+"/cancel", ivo, "", 404)
	call("POST", path+"/copy", ivo, "", 404)
	call("GET", "/api/v1/jobs?shared=yes", hal, "", 400)

	// The listings: the shared one holds it for hal, not for ivo; nobody's own listing does.
	listed := func(tok, query string) bool {
		t.Helper()
		l := decode[client.JobList](t, call("GET", "/api/v1/jobs"+query, tok, "", 200))
		return slices.ContainsFunc(l.Jobs, func(x *client.Job) bool { return x.ID == j.ID })
	}
	if !listed(hal, "?shared=1") || listed(hal, "") || listed(ivo, "?shared=1") || listed(ivo, "") || listed(ivo, "?shared=1&owner=gina") {
		t.Errorf("listings: hal shared %v own %v; ivo shared %v own %v by owner %v; want only the first", listed(hal, "?shared=1"),
			listed(hal, ""), listed(ivo, "?shared=1"), listed(ivo, ""), listed(ivo, "?shared=1&owner=gina"))
	}

	// hal copies it: his own job, the same spec and file.
	cp := decode[client.Job](t, call("POST", path+"/copy", hal, `{"name":"hal's"}`, 201))
	if cp.Owner != "hal" || cp.Name != "hal's" || cp.Service != "sleep" || string(cp.Spec) != string(j.Spec) || len(cp.Groups) != 0 {
		t.Errorf("the copy = %+v; want hal's sleep job with the same spec, shared with no one", cp)
	}
	if got := call("GET", fmt.Sprintf("/api/v1/jobs/%d/files/input/data.txt", cp.ID), hal, "", 200); string(got) != "1 2\n" {
		t.Errorf("the copy's input file = %q", got)
	}
	call("GET", fmt.Sprintf("/api/v1/jobs/%d", cp.ID), gina, "", 404) // hal's own, not shared back

	// Usage per group: its members' sums, for a member or an admin.
	if u := decode[api.Usage](t, call("GET", "/api/v1/usage?group=optics", hal, "", 200)); len(u.Groups) != 1 || u.Groups[0].Jobs != 2 {
		t.Errorf("optics' usage as hal sees it: %+v; want gina's job and hal's copy", u.Groups)
	}
	call("GET", "/api/v1/usage?group=optics&user=hal&since=2026-01-01", admin, "", 200)
	call("GET", "/api/v1/usage?group=bio", hal, "", 403)
	call("GET", "/api/v1/usage?group=nothing", admin, "", 404)

	// gina takes it back, shares it again; taken out of the group, hal sees no more.
	call("POST", path+"/unshare", gina, `{"groups":["optics"]}`, 200)
	call("GET", path, hal, "", 404)
	call("POST", path+"/share", gina, `{"groups":[]}`, 400)
	call("POST", path+"/share", gina, `{"groups":["nope"]}`, 400)
	if got := decode[client.Job](t, call("POST", path+"/share", admin, `{"groups":["optics","bio"]}`, 200)); !slices.Equal(got.Groups, []string{"bio", "optics"}) {
		t.Errorf("shared by an admin with gina's groups: %v", got.Groups)
	}
	call("GET", path, hal, "", 200)
	call("DELETE", "/api/v1/groups/optics/members/hal", admin, "", 200)
	call("GET", path, hal, "", 404)
	call("DELETE", path, gina, "", 204)
}
