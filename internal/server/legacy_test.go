package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// An old client and an old worker, speaking the old routes and shapes.
func TestLegacyRoutes(t *testing.T) {
	t.Parallel()
	// A short lease keeps nextjob's wait on an empty queue short.
	env := testenv.Start(t, controller.Config{Workers: 0, Lease: 2 * time.Second})
	user := env.User("olduser", store.RoleUser)
	workerTok := env.User("oldworker", store.RoleWorker)
	get := func(path, tok string) (int, map[string]any) {
		code, body, _ := call(t, "GET", env.URL+path, tok, "", nil)
		var m map[string]any
		json.Unmarshal(body, &m)
		return code, m
	}

	code, body, _ := call(t, "POST", env.URL+"/jobs.json", user, "application/json",
		strings.NewReader(`{"name":"old","service":"sleep","data":{"seconds":0},"notify":"me@example.org"}`))
	if code != 200 {
		t.Fatalf("submit: %d %s", code, body)
	}
	var sub struct {
		ID  int64
		Job map[string]any
	}
	json.Unmarshal(body, &sub)
	if sub.ID == 0 || sub.Job["name"] != "old" {
		t.Fatalf("submit answer = %s", body)
	}
	id := fmt.Sprint(sub.ID)
	if code, m := get("/jobs.json", user); code != 200 || fmt.Sprint(m["jobs"]) != "["+id+"]" {
		t.Errorf("list = %d %v", code, m)
	}
	if code, m := get("/jobs/pending.json", user); code != 200 || fmt.Sprint(m["jobs"]) != "["+id+"]" {
		t.Errorf("pending = %d %v", code, m)
	}
	if code, m := get("/jobs/"+id+"/status.json", user); code != 200 || m["status"] != "PENDING" {
		t.Errorf("status = %d %v", code, m)
	}

	// The old worker: nextjob, then postjob with a file.
	code, body, _ = call(t, "POST", env.URL+"/jobs/nextjob.json", workerTok, "application/json", strings.NewReader(`{"queue":"cluster-a"}`))
	var next struct {
		ID      int64
		Request map[string]any
	}
	json.Unmarshal(body, &next)
	if code != 200 || next.ID != sub.ID || next.Request["service"] != "sleep" {
		t.Fatalf("nextjob = %d %s", code, body)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("queue", "cluster-a")
	mw.WriteField("results", `{"status":"COMPLETE","result":42,"note":"kept"}`)
	fw, _ := mw.CreateFormFile("file", "answer.txt")
	fw.Write([]byte("42\n"))
	mw.Close()
	// Basic auth, as the old client sent credentials.
	req, _ := http.NewRequest("POST", env.URL+"/jobs/"+id+"/postjob", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("oldworker", workerTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("postjob: %v %v", resp.StatusCode, err)
	}
	if code, m := get("/jobs/"+id+"/results.json", user); code != 200 || m["status"] != "COMPLETE" || m["result"] != 42.0 || m["note"] != "kept" || m["id"] != float64(sub.ID) {
		t.Errorf("results = %d %v", code, m)
	}
	if code, m := get("/jobs/"+id+"/data/index.json", user); code != 200 || !strings.Contains(fmt.Sprint(m["files"]), "answer.txt 3") {
		t.Errorf("index = %d %v", code, m)
	}
	code, body, hdr := call(t, "GET", env.URL+"/jobs/"+id+"/data/answer.txt", user, "", nil)
	if code != 200 || string(body) != "42\n" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("data file = %d %q", code, body)
	}
	// With nothing queued the old worker reads {"request": null}.
	code, body, _ = call(t, "POST", env.URL+"/jobs/nextjob.json", workerTok, "application/json", strings.NewReader(`{"queue":"cluster-a"}`))
	if code != 200 || strings.Join(strings.Fields(string(body)), "") != `{"request":null}` {
		t.Errorf("nextjob on an empty queue = %d %s", code, body)
	}
	// A second postjob is refused.
	code, _, _ = call(t, "POST", env.URL+"/jobs/"+id+"/postjob", workerTok, "application/x-www-form-urlencoded",
		strings.NewReader(`queue=cluster-a&results={"status":"ERROR"}`))
	if code != http.StatusConflict {
		t.Errorf("second postjob = %d", code)
	}
	// Unknown ids are 404 on every old route; others' jobs likewise.
	other := env.User("stranger", store.RoleUser)
	for _, p := range []string{"/jobs/999.json", "/jobs/abc.json", "/jobs/999/status.json", "/jobs/999/results.json",
		"/jobs/999/data/index.json", "/jobs/" + id + ".json"} {
		code, body, _ := call(t, "GET", env.URL+p, other, "", nil)
		wantError(t, code, body, 404)
	}
	if code, m := get("/jobs/"+id+".json", user); code != 200 || m["job"] == nil {
		t.Errorf("show = %d %v", code, m)
	}
	code, body, _ = call(t, "DELETE", env.URL+"/jobs/"+id+".json", user, "", nil)
	if code != 200 || !strings.Contains(string(body), `"jobs": []`) {
		t.Errorf("delete = %d %s", code, body)
	}
	code, body, _ = call(t, "GET", env.URL+"/jobs/"+id+".json", user, "", nil)
	wantError(t, code, body, 404)
}
