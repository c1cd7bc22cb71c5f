package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// The submission route is the one every user can reach with arbitrary
// bytes, JSON or multipart with any part names, file names and contents.
// These fuzz targets send such bodies over real HTTP to a controller that
// runs nothing (Workers: 0) and check after each one that the answer is
// never a 5xx, that every refusal is a 4xx with a JSON {"error"}, and that
// no file landed anywhere but <data>/jobs/<id>/input/ (or the staging and
// trash areas the server manages).
//
// In CI only the seeds run (as plain tests). To search for longer (a
// short minimization: the default 60s stalls these slow targets):
//
//	go test ./internal/server -run '^$' -fuzz '^FuzzSubmitJSON$' -fuzztime 10m -fuzzminimizetime 10s
//	go test ./internal/server -run '^$' -fuzz '^FuzzSubmitMultipart$' -fuzztime 10m -fuzzminimizetime 10s
//	go test ./internal/server -run '^$' -fuzz '^FuzzSubmitBody$' -fuzztime 10m -fuzzminimizetime 10s

// fuzzServer is one controller shared by every input of a fuzz target.
type fuzzServer struct {
	env   *testenv.Env
	token string
	base  string // the directory that holds the data dir and nothing else
}

func startFuzzServer(f *testing.F) *fuzzServer {
	base := f.TempDir()
	env := testenv.Start(f, controller.Config{
		Data: filepath.Join(base, "data"), Workers: 0,
		// No rate or queue limit: the fuzzer submits thousands of jobs a
		// second and each must reach the decoder, not a 429. A small
		// upload cap makes the size checks reachable.
		Server: server.Config{SubmitRate: 1e9, MaxQueued: 1 << 30, MaxUpload: 64 << 10, MaxJSON: 32 << 10},
	})
	return &fuzzServer{env: env, token: env.User("fuzz", store.RoleUser), base: base}
}

// post sends one submission and checks the answer and the data dir.
func (s *fuzzServer) post(t *testing.T, ctype string, body []byte) {
	req, err := http.NewRequest("POST", s.env.URL+"/api/v1/jobs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/v1/jobs: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		t.Fatalf("status %d for Content-Type %q body %q: %s", resp.StatusCode, ctype, body, b)
	case resp.StatusCode == http.StatusCreated:
		var j struct{ ID int64 }
		if json.Unmarshal(b, &j) != nil || j.ID <= 0 {
			t.Fatalf("201 without a job: %s", b)
		}
		s.checkData(t)
		// Delete it so the tree each later check walks stays small.
		req, _ := http.NewRequest("DELETE", fmt.Sprintf("%s/api/v1/jobs/%d", s.env.URL, j.ID), nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete job %d: %v %v", j.ID, resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
	case resp.StatusCode >= 400:
		var e struct {
			Error *string `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || *e.Error == "" {
			t.Fatalf("status %d without a JSON error: %q", resp.StatusCode, b)
		}
		s.checkData(t)
	default:
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

var (
	jobFile     = regexp.MustCompile(`^data/jobs/[1-9][0-9]*/input/.+$`)
	stagingFile = regexp.MustCompile(`^data/tmp/upload-[^/]+/input/.+$`)
	dataTop     = map[string]bool{"bumpserve.db": true, "bumpserve.db-wal": true, "bumpserve.db-shm": true,
		"session.key": true, "admin.token": true, "disk.reserve": true, "disk.reserve-users": true, "jobs": true, "tmp": true, "trash": true}
)

// checkData walks everything under the fuzz target's temp dir: every
// regular file must be the server's own or an upload inside a job's
// input/ (or its staging copy); trash/ holds only renamed directories on
// their way out. Links and special files may not appear at all.
func (s *fuzzServer) checkData(t *testing.T) {
	filepath.WalkDir(s.base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed in the background meanwhile
			}
			t.Fatalf("walk: %v", err)
		}
		rel, _ := filepath.Rel(s.base, p)
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		switch {
		case rel == "." || rel == "data":
			return nil
		case parts[0] != "data":
			t.Fatalf("a file appeared beside the data dir: %s", rel)
		case len(parts) == 2 && !dataTop[parts[1]]:
			t.Fatalf("a file appeared at the top of the data dir: %s", rel)
		case len(parts) >= 2 && parts[1] == "trash":
			if len(parts) == 3 && !e.IsDir() {
				t.Fatalf("a file appeared in trash/: %s", rel)
			}
			return fs.SkipDir // contents are whatever was deleted
		case e.Type()&(fs.ModeSymlink|fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
			t.Fatalf("a link or special file appeared: %s (%v)", rel, e.Type())
		case e.IsDir() || len(parts) == 2:
		case parts[1] == "jobs" && !jobFile.MatchString(rel):
			t.Fatalf("a file appeared outside any job's input/: %s", rel)
		case parts[1] == "tmp" && !stagingFile.MatchString(rel):
			t.Fatalf("a file appeared in the staging area outside an upload's input/: %s", rel)
		}
		return nil
	})
}

var jsonSeeds = []string{
	`{"name":"nap","service":"sleep","spec":{"seconds":0.1}}`,
	`{"service":"sleep"}`,
	`{"service":"fit","spec":{"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","x":[1,2],"y":[1,2]}]}}`,
	`{"service":"fit","spec":{"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","file":"../../x","columns":["x","y"]}]}}`,
	`{"service":"bumps","spec":{"model":"curve.py","fitter":"dream","options":{"samples":100}}}`,
	`{"service":"bumps","spec":{"model":"../../etc/passwd"}}`,
	`{"service":"sleep","spec":{"seconds":1},"priority":101}`,
	`{"service":"sleep","spec":{"limits":{"wall_seconds":-1},"resources":{"cpus":100000}}}`,
	`{"service":"sleep","name":"\xff\xfe"}`,
	`{"service":"nope"}`, `{"service":"sleep","extra":1}`, `{"service":"sleep"} {"service":"sleep"}`,
	`[]`, `null`, `""`, ``, `{`, `{"service":1}`, `{"spec":"x","service":"sleep"}`,
}

func FuzzSubmitJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	srv := startFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		srv.post(t, "application/json", body)
	})
}

// multipartBody writes a job part and one more part whose name, file name
// and content are the fuzzer's. The Content-Disposition is written raw,
// unescaped, so the fuzzer controls exactly what the server parses.
func multipartBody(job []byte, name, filename string, content []byte) []byte {
	var b bytes.Buffer
	b.WriteString("--BOUNDARY\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n")
	b.Write(job)
	b.WriteString("\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"\r\n")
	b.WriteString("Content-Type: application/octet-stream\r\n\r\n")
	b.Write(content)
	b.WriteString("\r\n--BOUNDARY--\r\n")
	return b.Bytes()
}

func FuzzSubmitMultipart(f *testing.F) {
	fitFile := `{"service":"fit","spec":{"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","file":"d.txt","columns":["x","y"]}]}}`
	for _, s := range []struct{ job, name, filename, content string }{
		{fitFile, "file", "d.txt", "1 2\n2 4\n"},
		{`{"service":"sleep"}`, "file", "sub/dir/a.txt", "x"},
		{`{"service":"sleep"}`, "file", "../../../escaped", "x"},
		{`{"service":"sleep"}`, "file", "/etc/passwd", "x"},
		{`{"service":"sleep"}`, "file", `..\..\escaped`, "x"},
		{`{"service":"sleep"}`, "file", "a/../../b", "x"},
		{`{"service":"sleep"}`, "file", "%2e%2e/escaped", "x"},
		{`{"service":"sleep"}`, "file", "", "x"},
		{`{"service":"sleep"}`, "file", ".", "x"},
		{`{"service":"sleep"}`, "file", "a\x00b", "x"},
		{`{"service":"sleep"}`, "file", "job", "x"},
		{`{"service":"sleep"}`, "job", "again", `{"service":"sleep"}`},
		{`{"service":"sleep"}`, "other", "a", "x"},
		{`{"service":"sleep"}`, "file", "big", strings.Repeat("x", 70<<10)},
		{`{"service":"sleep"}`, "file\"; filename=\"../x", "y", "x"},
		{`{"service":"sleep"}`, "file", "x\"; filename*=UTF-8''..%2F..%2Fescaped", "x"},
		{`{"service":"sleep"}`, "file", "x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../y", "x"},
		{`not json`, "file", "a", "x"},
		{`{"service":"nope"}`, "file", "a", "x"},
	} {
		f.Add([]byte(s.job), s.name, s.filename, []byte(s.content))
	}
	srv := startFuzzServer(f)
	f.Fuzz(func(t *testing.T, job []byte, name, filename string, content []byte) {
		srv.post(t, "multipart/form-data; boundary=BOUNDARY", multipartBody(job, name, filename, content))
	})
}

// FuzzSubmitBody sends raw bytes under a raw Content-Type, so malformed
// multipart framing (boundaries, headers, truncation) is reached too.
func FuzzSubmitBody(f *testing.F) {
	f.Add("multipart/form-data; boundary=BOUNDARY", multipartBody([]byte(`{"service":"sleep"}`), "file", "a.txt", []byte("x")))
	f.Add("multipart/form-data; boundary=BOUNDARY", []byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n{\"service\":\"sleep\"}"))
	f.Add("multipart/form-data", []byte("--\r\n"))
	f.Add("multipart/form-data; boundary=", []byte("----\r\n"))
	f.Add("multipart/mixed; boundary=B", []byte("--B\r\n\r\n--B--"))
	f.Add("text/plain", []byte(`{"service":"sleep"}`))
	f.Add("", []byte(`{"service":"sleep"}`))
	f.Add("application/x-www-form-urlencoded", []byte("service=sleep"))
	f.Add("multipart/form-data; boundary=\"a b\"", []byte("--a b\r\nContent-Disposition: form-data; name=file; filename=../../x\r\n\r\nx\r\n--a b--\r\n"))
	srv := startFuzzServer(f)
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		if strings.ContainsAny(ctype, "\r\n\x00") || !isPrintableHeader(ctype) {
			return // not sendable as a header value
		}
		srv.post(t, ctype, body)
	})
}

func isPrintableHeader(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
