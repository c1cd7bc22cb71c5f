package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// TestSeriesForm: the Bumps form's series box makes a series of the data
// files uploaded, each fit given its file as the model's last argument;
// a bad x pattern is shown beside the series field.
func TestSeriesForm(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, controller.Config{Workers: 0})
	alice := env.User("alice", store.RoleUser)
	b := newBrowser(t, env.URL)
	b.login(alice)
	token := b.csrf("/ui/submit")
	post := func(seriesX string) (*http.Response, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"csrf_token": token, "kind": "bumps", "name": "scan", "fitter": "amoeba",
			"args": "quiet", "series": "on", "series_x": seriesX} {
			mw.WriteField(k, v)
		}
		for _, f := range [][2]string{{"model_file", "peak.py"}, {"data_files", "t_10.txt"}, {"data_files", "t_20.txt"}} {
			w, _ := mw.CreateFormFile(f[0], f[1])
			io.WriteString(w, "1 2 0.1\n")
		}
		mw.Close()
		req, _ := http.NewRequest("POST", env.URL+"/ui/submit", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp, string(page)
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
	if err != nil || p.Series == nil || strings.Join(p.Series.Files, " ") != "t_10.txt t_20.txt" || len(p.Series.Children) != 2 {
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
