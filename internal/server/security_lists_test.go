package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestListsDoNotLeak: the listings hold a job shared with a group only
// where they should. Alice's fixture is shared with optics: carol (in
// optics) finds it among the jobs shared with her, never among her own;
// bob, who shares another group with alice, finds it nowhere; alice and
// the admin find it in their own listings.
func TestListsDoNotLeak(t *testing.T) {
	t.Parallel()
	w := newWalk(t)
	type listing struct {
		path string
		page bool
	}
	lists := []listing{{"/api/v1/jobs", false}, {"/api/v1/jobs?shared=1", false}, {"/api/v1/jobs?shared=1&owner=alice", false},
		{"/jobs.json", false}, {"/ui/jobs", true}, {"/ui/jobs?shared=1", true}}
	// Whether each role finds the fixture in each listing, in lists' order.
	wants := map[role][]bool{
		owner:  {true, false, false, true, true, false},
		other:  {false, false, false, false, false, false},
		admin:  {true, false, false, true, true, false},
		member: {false, true, true, false, false, true},
	}
	// alice is in optics too, so her job is among those shared with her.
	wants[owner][1], wants[owner][2], wants[owner][5] = true, true, true
	rowID := regexp.MustCompile(`data-job-id="(\d+)"`)
	for r, want := range wants {
		for i, l := range lists {
			req, _ := http.NewRequest("GET", w.env.URL+l.path, nil)
			if l.page {
				req.AddCookie(&http.Cookie{Name: "bumpserve_session", Value: w.tokens[r]})
			} else {
				req.Header.Set("Authorization", "Bearer "+w.tokens[r])
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s as %s: %s %.200s", l.path, roleNames[r], resp.Status, b)
			}
			var ids []int64
			if l.page {
				for _, m := range rowID.FindAllSubmatch(b, -1) {
					n, _ := strconv.ParseInt(string(m[1]), 10, 64)
					ids = append(ids, n)
				}
			} else {
				var doc struct{ Jobs json.RawMessage }
				json.Unmarshal(b, &doc)
				var objs []struct{ ID int64 }
				if json.Unmarshal(doc.Jobs, &objs) != nil { // the old route lists bare ids
					json.Unmarshal(doc.Jobs, &ids)
				}
				for _, o := range objs {
					ids = append(ids, o.ID)
				}
			}
			if got := slices.Contains(ids, w.fixture); got != want[i] {
				t.Errorf("GET %s as %s lists the shared job: %v, want %v (ids %v)", l.path, roleNames[r], got, want[i], ids)
			}
		}
	}
}
