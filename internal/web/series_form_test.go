package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestSeriesForm: the Bumps form's series box makes a series of the data
// files uploaded, each fit given its file as the model's last argument,
// chained when its box is ticked; a bad x pattern is shown beside the
// series field.
func TestSeriesForm(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	alice := env.User("alice", store.RoleUser)
	b := newBrowser(t, env.URL)
	b.login(alice)
	token := b.csrf("/ui/submit")
	post := func(seriesX string) (*http.Response, string) {
		return b.postMultipart("/ui/submit", map[string]string{"csrf_token": token, "kind": "bumps", "name": "scan", "fitter": "amoeba",
			"args": "quiet", "series": "on", "series_x": seriesX, "series_chain": "on"},
			[][3]string{{"model_file", "peak.py", "1 2 0.1\n"}, {"data_files", "t_10.txt", "1 2 0.1\n"}, {"data_files", "t_20.txt", "1 2 0.1\n"}})
	}
	resp, page := post("name:^x")
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(page, `id="series-error"`) || !strings.Contains(page, "does not match file 0") {
		t.Errorf("a bad x pattern: %s\n%s", resp.Status, grep(page, "error"))
	}
	resp, page = post(`name:_(\d+)`)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("series form: %s\n%s", resp.Status, grep(page, "error"))
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(strings.Split(resp.Header.Get("Location"), "?")[0], "/ui/jobs/"), 10, 64)
	c := env.Client(alice)
	p, err := c.Get(context.Background(), id)
	if err != nil || p.Series == nil || strings.Join(p.Series.Files, " ") != "t_10.txt t_20.txt" || len(p.Series.Children) != 2 || !p.Series.Chain {
		t.Fatalf("parent %+v, %v", p, err)
	}
	for i, cid := range p.Series.Children {
		k, err := c.Get(context.Background(), cid)
		if err != nil {
			t.Fatal(err)
		}
		var spec struct{ Args []string }
		json.Unmarshal(k.Spec, &spec)
		if want := []string{"quiet", p.Series.Files[i]}; strings.Join(spec.Args, " ") != strings.Join(want, " ") || k.Parent != id {
			t.Errorf("child %d: args %q (want %q), parent %d", i, spec.Args, want, k.Parent)
		}
	}
}
