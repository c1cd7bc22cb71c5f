package securitytest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// hostileUIDs is this package's own range of job user ids (the sandbox's
// tests use 61000-64009, cmd/bumpserve's 100000 and up).
var hostileUIDs = [2]int{64600, 64649}

// The names, under output/, that the root side reads after a bumps run
// (the model is hostile.py, so its store files are hostile.*) and those
// it writes once the job's processes are dead.
var (
	rootReads = []string{"bumps-stdout.txt", "bumps-stderr.txt", "store/hostile.par", "store/hostile.err",
		"store/hostile.mon", "store/hostile-err.json", "store/hostile.dat"}
	rootWrites = []string{"results.json", "job.log"}
)

type plant struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // "link" or "fifo"
	Target string `json:"target,omitempty"`
}

type attack struct {
	what       string
	plants     []plant
	fakePickle bool
	want       string // in the reason; "" means the job completes
}

// TestHostileJobFilesFailSafely runs real hostile Bumps models in the real
// sandbox, as root. Each leaves, where the root side reads or writes its
// files, a link (to the admin token, /proc/self/environ, /dev/zero,
// /etc/shadow, a host file or directory) or a FIFO. Every job must end
// with a reason naming the file, no secret may appear in any job field,
// log, result, listing, file or archive, no host file may change, and
// the two slots must stay usable: a normal job runs last.
func TestHostileJobFilesFailSafely(t *testing.T) {
	testenv.Need(t, os.Geteuid() == 0, "root: jobs get their own uids in the sandbox only as root")
	_, err := os.Stat(service.DefaultBumpsPath)
	testenv.Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
	environMarker := fmt.Sprintf("environ-marker-%d", time.Now().UnixNano())
	t.Setenv("BUMPSERVE_TEST_MARKER", environMarker) // in the server's /proc/self/environ

	sb, err := sandbox.New(sandbox.Config{UIDs: hostileUIDs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	serverLog := &testenv.Log{}
	env := testenv.Start(t, controller.Config{Workers: 2, Runner: confine.New(sb), Logger: slog.New(slog.NewTextHandler(serverLog, nil))})
	alice := env.User("alice", store.RoleUser)
	cl := env.Client(alice)

	hostDir := t.TempDir()
	victim := filepath.Join(hostDir, "victim.txt")
	if err := os.WriteFile(victim, []byte("VICTIM UNCHANGED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(env.Data, controller.AdminTokenFile)
	secrets := map[string]string{"admin token": env.AdminToken, "server environment": environMarker}
	if b, err := os.ReadFile("/etc/shadow"); err == nil && len(b) > 0 {
		secrets["/etc/shadow"] = strings.SplitN(string(b), "\n", 2)[0]
	}

	var attacks []attack
	for _, n := range rootReads {
		attacks = append(attacks,
			attack{what: n + " -> admin token", plants: []plant{{n, "link", token}}, want: "output/" + n + ": is a symbolic link"},
			attack{what: n + " as FIFO", plants: []plant{{n, "fifo", ""}}, want: "output/" + n + ": is not a regular file (a FIFO)"})
	}
	for _, target := range []string{"/proc/self/environ", "/dev/zero", "/etc/shadow"} {
		for _, n := range []string{"bumps-stderr.txt", "store/hostile.mon"} {
			attacks = append(attacks, attack{what: n + " -> " + target, plants: []plant{{n, "link", target}}, want: "output/" + n + ": is a symbolic link"})
		}
	}
	for _, n := range rootWrites {
		want := "output/" + n + ": already exists"
		attacks = append(attacks,
			attack{what: n + " -> host file", plants: []plant{{n, "link", victim}}, want: want},
			attack{what: n + " as FIFO", plants: []plant{{n, "fifo", ""}}, want: want})
	}
	attacks = append(attacks,
		attack{what: "store -> host directory", plants: []plant{{"store", "link", hostDir}}, want: "output/store: is a symbolic link"},
		// The serial rerun after a --parallel failure makes stdout and
		// stderr again and clears the store where the first run left
		// links to a host file and directory: none is followed.
		attack{what: "serial rerun over links", fakePickle: true, plants: []plant{
			{"bumps-stdout.txt", "link", victim}, {"store", "link", hostDir}}},
		attack{what: "normal job"})

	jobs := make([]*client.Job, len(attacks))
	for i, a := range attacks {
		jobs[i] = submitHostile(t, cl, a)
	}
	for i, a := range attacks {
		t.Run(a.what, func(t *testing.T) {
			j := waitEnd(t, cl, jobs[i].ID)
			switch {
			case a.want == "" && j.State != job.Complete:
				t.Errorf("ended %s (%s), want COMPLETE", j.State, j.Reason)
			case a.want != "" && (j.State != job.Error || !strings.Contains(j.Reason, a.want)):
				t.Errorf("ended %s with reason %q, want ERROR naming %q", j.State, j.Reason, a.want)
			}
			noSecrets(t, env, cl, alice, j, secrets)
		})
	}
	if b, _ := os.ReadFile(victim); string(b) != "VICTIM UNCHANGED\n" {
		t.Errorf("the host file was written: %q", b)
	}
	if ents, _ := os.ReadDir(hostDir); len(ents) != 1 {
		t.Errorf("the host directory changed: %d entries", len(ents))
	}
	if b, _ := os.ReadFile(token); strings.TrimSpace(string(b)) != env.AdminToken {
		t.Errorf("the admin token file changed")
	}
	for what, s := range secrets {
		if strings.Contains(serverLog.String(), s) {
			t.Errorf("the server log holds the %s", what)
		}
	}
}

func submitHostile(t *testing.T, cl *client.Client, a attack) *client.Job {
	t.Helper()
	conf, _ := json.Marshal(map[string]any{"plant": append([]plant{}, a.plants...), "fake_pickle": a.fakePickle})
	attackFile := filepath.Join(t.TempDir(), "attack.json")
	if err := os.WriteFile(attackFile, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `{"model":"hostile.py","fitter":"amoeba","options":{"steps":50}}`
	if a.fakePickle {
		spec = `{"model":"hostile.py","fitter":"amoeba","options":{"steps":50,"parallel":2},"resources":{"cpus":2}}`
	}
	j, err := cl.Submit(context.Background(), client.Submission{Service: "bumps", Spec: json.RawMessage(spec)},
		[]client.Upload{{Name: "hostile.py", Path: filepath.Join("testdata", "hostile.py")}, {Name: "attack.json", Path: attackFile}})
	if err != nil {
		t.Fatalf("submit %s: %v", a.what, err)
	}
	return j
}

// waitEnd follows a job to its end; many bumps jobs share two slots on
// slow CI cores, hence the generous deadline.
func waitEnd(t *testing.T, cl *client.Client, id int64) *client.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	j, err := cl.Watch(ctx, id, func(*client.Job) error { return nil })
	if err != nil {
		t.Fatalf("job %d did not end: %v", id, err)
	}
	return j
}

// noSecrets looks for each secret in everything a user can get of job j:
// its record, results, file listing, every listed file, the zip archive
// the pages offer, and the log the job left in its directory.
func noSecrets(t *testing.T, env *testenv.Env, cl *client.Client, userToken string, j *client.Job, secrets map[string]string) {
	t.Helper()
	ctx := context.Background()
	seen := map[string][]byte{}
	seen["job record"], _ = json.Marshal(j)
	if raw, err := cl.Results(ctx, j.ID); err == nil {
		seen["results"] = raw
	}
	files, err := cl.Files(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen["file listing"], _ = json.Marshal(files)
	for _, f := range files {
		rc, err := cl.Download(ctx, j.ID, f.Path)
		if err != nil {
			t.Errorf("listed %s cannot be downloaded: %v", f.Path, err)
			continue
		}
		seen[f.Path], _ = io.ReadAll(rc)
		rc.Close()
	}
	if b, err := os.ReadFile(filepath.Join(env.Data, "jobs", fmt.Sprint(j.ID), "job.log")); err == nil {
		seen["unpublished job.log"] = b
	}
	seen["zip archive"] = archive(t, env, userToken, j.ID)
	for what, s := range secrets {
		for where, b := range seen {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}

// archive signs in to the pages and returns the job's zip, checking each
// entry's name and date on the way; its contents are returned joined.
func archive(t *testing.T, env *testenv.Env, userToken string, id int64) []byte {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	req, _ := http.NewRequest("POST", env.URL+"/ui/login", strings.NewReader(url.Values{"token": {userToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.URL)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = hc.Get(fmt.Sprintf("%s/ui/jobs/%d/archive", env.URL, id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("archive: %s: %.200s", resp.Status, body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("archive: %v", err)
	}
	var all bytes.Buffer
	for _, f := range zr.File {
		if f.Modified.Year() < 2000 {
			t.Errorf("archive entry %s is dated %v", f.Name, f.Modified)
		}
		if !strings.HasPrefix(f.Name, "input/") && !strings.HasPrefix(f.Name, "output/") {
			t.Errorf("archive entry %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&all, rc)
		rc.Close()
	}
	return all.Bytes()
}
