package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// site is a controller under /queue behind a real proxy, configured as
// deploy/ and docs/deploy.md say: trusting the proxy on loopback, taking
// the site's login from X-Remote-User, creating users on first sight.
type site struct {
	env   *testenv.Env
	proxy string // the proxy's base URL; the service is at proxy+"/queue"
	alice string // a token
}

// siteLogin is the site's password file: the proxy's login, not bumpserve's.
var siteLogin = map[string]string{"carol": "carol-site-password"}

func startSite(t *testing.T, startProxy func(t *testing.T, backend, passwords string) string) *site {
	trusted, err := server.ParseProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, controller.Config{Workers: 2, Lease: 8 * time.Second,
		Server: server.Config{LegacyWorkerServices: []string{"count"}},
		Front: server.Front{BasePath: "/queue", TrustedProxies: trusted,
			RemoteUserHeader: "X-Remote-User", AutoCreateUsers: true}})
	s := &site{env: env, alice: env.User("alice", store.RoleUser)}
	s.proxy = startProxy(t, strings.TrimPrefix(env.URL, "http://"), htpasswd(siteLogin))
	return s
}

func TestApache(t *testing.T) { proxySuite(t, startSite(t, startApache)) }

func TestNginx(t *testing.T) { proxySuite(t, startSite(t, startNginx)) }

// proxySuite checks, through the proxy, everything a site needs of it.
func proxySuite(t *testing.T, s *site) {
	base := s.proxy + "/queue"
	cl, err := client.New(base, s.alice, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("API submit to result", func(t *testing.T) {
		j, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: json.RawMessage(`{"fitter": "lm",
			"parameters": {"a": {"value": 1}, "b": {"value": 0}},
			"datasets": [{"model": "a*x + b", "x": [0, 1, 2, 3], "y": [1, 3, 5, 7.1]}]}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		final, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
		if err != nil || final.State != "COMPLETE" {
			t.Fatalf("job %d: %v %v", j.ID, final, err)
		}
		res, err := cl.Results(ctx, j.ID)
		var r struct {
			Parameters map[string]struct{ Value float64 }
		}
		if err != nil || json.Unmarshal(res, &r) != nil || r.Parameters["a"].Value < 1.9 || r.Parameters["a"].Value > 2.1 {
			t.Fatalf("results %s (%v)", res, err)
		}
		rc, err := cl.Download(ctx, j.ID, "output/results.json")
		if err != nil {
			t.Fatalf("download through the proxy: %v", err)
		}
		rc.Close()
	})

	t.Run("events arrive while the job runs", func(t *testing.T) {
		// The job runs until cancelled: a proxy that held events back
		// until the stream ends would show nothing before the deadline.
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": 600}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Cancel(ctx, j.ID)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(sctx, "GET", fmt.Sprintf("%s/api/v1/jobs/%d/events", base, j.ID), nil)
		req.Header.Set("Authorization", "Bearer "+s.alice)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var ev struct{ State string }
			if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok && json.Unmarshal([]byte(data), &ev) == nil && ev.State == "ACTIVE" {
				return
			}
		}
		t.Fatalf("no ACTIVE event came through the proxy while the job ran (%v): events are buffered", sc.Err())
	})

	t.Run("upload near the size cap", func(t *testing.T) {
		// The shipped configs let through what bumpserve's default cap
		// admits; a proxy's own smaller limit (nginx: 1 MB) would refuse it.
		f := filepath.Join(t.TempDir(), "big.dat")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(f, server.MaxUploadDefault-(1<<20)); err != nil { // sparse: costs no disk
			t.Fatal(err)
		}
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": 0}`)},
			[]client.Upload{{Name: "big.dat", Path: f}})
		if err != nil {
			t.Fatalf("an upload 1 MiB under the cap through the proxy: %v", err)
		}
		files, err := cl.Files(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range files {
			if fi.Path == "input/big.dat" && fi.Size == server.MaxUploadDefault-(1<<20) {
				return
			}
		}
		t.Fatalf("the upload did not arrive whole: %v", files)
	})

	t.Run("old Bumps client and worker at /queue", func(t *testing.T) {
		py := "/usr/bin/python3"
		testenv.Need(t, exec.Command(py, "-c", "import httplib2").Run() == nil, "python3 with python3-httplib2 (scripts/install-deps)")
		dir, _ := filepath.Abs("../internal/server/testdata/oldprotocol")
		worker := s.env.User("oldworker", store.RoleWorker)
		old := func(args ...string) map[string]any {
			out, err := exec.Command(py, append([]string{filepath.Join(dir, "oldclient.py"), base, "alice", s.alice}, args...)...).Output()
			var m map[string]any
			if err != nil || json.Unmarshal(out, &m) != nil {
				t.Fatalf("oldclient.py %v: %v %s", args, err, out)
			}
			return m
		}
		ans := old("submit", `{"name": "old count", "service": "count", "data": 321}`)
		w := testenv.StartProc(t, "old worker", py, "-u", filepath.Join(dir, "oldworker.py"), base, "oldworker", worker, "q1", "--poll", "0.2", "--jobs", "1")
		res := old("wait", fmt.Sprint(ans["id"]))
		if res["status"] != "COMPLETE" || res["result"] != 321.0 {
			t.Fatalf("the old job through the proxy: %v", res)
		}
		w.WaitLog(t, regexp.MustCompile(`posted job \d+ COMPLETE`), time.Minute)
	})

	t.Run("site login", func(t *testing.T) {
		get := func(path string, set func(*http.Request)) (int, string) {
			req, _ := http.NewRequest("GET", base+path, nil)
			set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, _ := get("/ui/jobs", func(*http.Request) {}); code != 401 {
			t.Errorf("the pages without the site's login: %d, want the proxy's 401", code)
		}
		if code, _ := get("/ui/jobs", func(r *http.Request) { r.SetBasicAuth("carol", "wrong") }); code != 401 {
			t.Errorf("a wrong site password: %d, want 401", code)
		}
		code, body := get("/ui/jobs", func(r *http.Request) { r.SetBasicAuth("carol", siteLogin["carol"]) })
		if code != 200 || !strings.Contains(body, "carol") {
			t.Fatalf("the pages with the site's login: %d, want carol's jobs", code)
		}
		if code, _ := get("/metrics", func(*http.Request) {}); code != 403 {
			t.Errorf("/queue/metrics through the proxy: %d, want 403 (for local monitoring only)", code)
		}
		// A client cannot name itself through the proxy's token routes...
		code, body = get("/api/v1/whoami", func(r *http.Request) { r.Header.Set("X-Remote-User", "admin") })
		if code != 401 {
			t.Errorf("X-Remote-User sent by the client through the proxy: %d %s, want 401 (no token)", code, body)
		}
		// ...nor around the proxy, from an address that is not the proxy's.
		direct := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
		req, _ := http.NewRequest("GET", s.env.URL+"/queue/api/v1/whoami", nil)
		req.Header.Set("X-Remote-User", "admin")
		resp, err := direct.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("X-Remote-User from 127.0.0.2, not a trusted proxy: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("pages in a browser", func(t *testing.T) { browserThroughProxy(t, s, base) })
}
