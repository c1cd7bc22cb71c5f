package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// binary is the bumpserve built once for these tests: they run it as a
// user would, as separate processes.
var binary string

func TestMain(m *testing.M) {
	bin, remove, err := testenv.BuildBumpserve("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// serverProc is a bumpserve serve process.
type serverProc struct {
	*testenv.Proc
	t    *testing.T
	URL  string
	Data string
}

// uidRange gives each executor these tests start its own range of job
// user ids: executors sharing a range would sweep each other's jobs. The
// ranges start above every id internal/sandbox's tests use (61000-64009),
// since go test runs the two packages at the same time.
func uidRange() string {
	n := uidBlocks.Add(1)
	return fmt.Sprintf("%d-%d", 100000+n*50, 100000+n*50+49)
}

var uidBlocks atomic.Int64

var listening = regexp.MustCompile(`msg="ready at [^"]*" url=(\S+)`)

// startServer runs `bumpserve serve` on a free port with data dir data.
func startServer(t *testing.T, data string, args ...string) *serverProc {
	t.Helper()
	p := testenv.StartProc(t, "the server on "+data, binary,
		append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--sandbox-uids", uidRange()}, args...)...)
	url := p.WaitLog(t, listening, 30*time.Second)[1]
	return &serverProc{Proc: p, t: t, URL: url, Data: data}
}

func (s *serverProc) adminToken() string {
	b, err := os.ReadFile(filepath.Join(s.Data, "admin.token"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// bs runs the CLI with the server's address and token in the environment.
func bs(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("bumpserve %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func TestCLIWorkflow(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "2")
	if !strings.Contains(srv.Log(), "admin.token") {
		t.Errorf("first start did not say where the admin token is:\n%s", srv.Log())
	}
	if st, err := os.Stat(filepath.Join(srv.Data, "admin.token")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v", st, err)
	}
	// A user added while the server runs works at once; flags may follow
	// positional arguments.
	out, errOut, code := bs(t, nil, "user", "add", "alice", "--data", srv.Data)
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	alice := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + lastWord(out)}

	out, errOut, code = bs(t, alice, "submit", "--service", "sleep", "--spec", `{"seconds":0.3,"message":"hi"}`, "--name", "nap")
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	out, errOut, code = bs(t, alice, "wait", id)
	if code != 0 || !strings.Contains(out, `"state": "COMPLETE"`) || !strings.Contains(errOut, "job "+id) {
		t.Fatalf("wait: %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = bs(t, alice, "results", id)
	if code != 0 || !strings.Contains(out, `"message": "hi"`) {
		t.Errorf("results: %d %s", code, out)
	}
	out, _, code = bs(t, alice, "files", id)
	if code != 0 || !strings.Contains(out, "output/sleep.txt") {
		t.Errorf("files: %d %s", code, out)
	}
	out, _, code = bs(t, alice, "files", id, "output/sleep.txt")
	if code != 0 || !strings.HasPrefix(out, "slept ") {
		t.Errorf("download: %d %q", code, out)
	}
	out, _, code = bs(t, alice, "jobs", "--state", "COMPLETE")
	if code != 0 || !strings.Contains(out, "nap") {
		t.Errorf("jobs: %d %s", code, out)
	}

	// A DREAM fit too short to converge completes, and wait and results
	// say on stderr that its intervals are not to be trusted.
	dreamSpec := `{"fitter":"dream","options":{"samples":100,"seed":2},"parameters":{"a":{"value":1,"min":0,"max":5}},
		"datasets":[{"model":"a*x","x":[1,2,3],"y":[1.1,1.9,3.2],"dy":[0.1,0.1,0.1]}]}`
	out, errOut, code = bs(t, alice, "submit", "--service", "fit", "--spec", dreamSpec)
	if code != 0 {
		t.Fatalf("submit dream: %d %s", code, errOut)
	}
	dreamID := strings.TrimSpace(out)
	for _, cmd := range []string{"wait", "results"} {
		out, errOut, code = bs(t, alice, cmd, dreamID)
		if code != 0 || !strings.Contains(errOut, "warning: job "+dreamID+": DREAM has not converged") {
			t.Errorf("%s on an unconverged fit: %d\nstdout %s\nstderr %s", cmd, code, out, errOut)
		}
	}
	if !strings.Contains(out, `"converged": false`) || !strings.Contains(out, `"rhat"`) || !strings.Contains(out, `"p95"`) {
		t.Errorf("results of an unconverged fit: %s", out)
	}

	// A failing job: wait exits 1 with the reason.
	out, _, _ = bs(t, alice, "submit", "--service", "sleep", "--spec", `{"fail":true,"message":"bad model"}`)
	_, errOut, code = bs(t, alice, "wait", strings.TrimSpace(out))
	if code != 1 || !strings.Contains(errOut, "bad model") {
		t.Errorf("wait on failure: %d %s", code, errOut)
	}
	// Bad input: exit 2 naming the field.
	_, errOut, code = bs(t, alice, "submit", "--service", "sleep", "--spec", `{"seconds":"x"}`)
	if code != 2 || !strings.Contains(errOut, "seconds") {
		t.Errorf("bad spec: %d %s", code, errOut)
	}
	_, errOut, code = bs(t, alice, "show", "not-a-number")
	if code != 2 || !strings.Contains(errOut, "job id") {
		t.Errorf("bad id: %d %s", code, errOut)
	}
	// Cancel a long job, then delete it: afterwards it is gone.
	out, _, _ = bs(t, alice, "submit", "--service", "sleep", "--spec", `{"seconds":60}`)
	long := strings.TrimSpace(out)
	if _, errOut, code = bs(t, alice, "cancel", long); code != 0 {
		t.Fatalf("cancel: %d %s", code, errOut)
	}
	out, _, code = bs(t, alice, "wait", long, "--quiet")
	if code != 1 || !strings.Contains(out, `"state": "CANCEL"`) {
		t.Errorf("wait on cancelled: %d %s", code, out)
	}
	if _, errOut, code = bs(t, alice, "delete", long); code != 0 {
		t.Fatalf("delete: %d %s", code, errOut)
	}
	if _, errOut, code = bs(t, alice, "show", long); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("show deleted: %d %s", code, errOut)
	}

	// Tokens can be listed and revoked; a revoked token is refused at once.
	out, _, _ = bs(t, nil, "user", "tokens", "alice", "--data", srv.Data)
	tokID := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])[0]
	if _, errOut, code = bs(t, nil, "user", "revoke", tokID, "--data", srv.Data); code != 0 {
		t.Fatalf("revoke: %d %s", code, errOut)
	}
	if _, errOut, code = bs(t, alice, "jobs"); code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("revoked token: %d %s", code, errOut)
	}
}

// killRecord reads the pid of a job's child process from its pid file.
func childPID(t *testing.T, data, id string) int {
	t.Helper()
	var rec struct{ PID int }
	testenv.Eventually(t, 10*time.Second, "job "+id+" process recorded", func() bool {
		b, err := os.ReadFile(filepath.Join(data, "jobs", id, "proc.json"))
		return err == nil && json.Unmarshal(b, &rec) == nil && rec.PID > 0
	})
	return rec.PID
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b[strings.LastIndexByte(string(b), ')')+1:])[:3], "Z")
}

// Kill -9 the server while jobs are ACTIVE and start it again: the jobs'
// processes die with it, the jobs run again and finish, and none is lost
// or recorded as finished twice.
func TestKill9Recovery(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	srv := startServer(t, data, "--workers", "3")
	token := srv.adminToken()
	cl, _ := client.New(srv.URL, token, client.Options{})
	ctx := context.Background()
	// The first three still run when the server is killed, even when the
	// other tests' load slows the look for them.
	specs := []string{`{"seconds":5,"exec":true}`, `{"seconds":5,"exec":true}`, `{"seconds":5}`, `{"seconds":0.2}`, `{"seconds":0.2}`}
	var ids []int64
	for _, s := range specs {
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(s)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	testenv.Eventually(t, 10*time.Second, "three jobs running", func() bool {
		l, err := cl.List(ctx, client.ListOptions{State: "ACTIVE"})
		return err == nil && len(l.Jobs) == 3
	})
	pids := []int{childPID(t, data, fmt.Sprint(ids[0])), childPID(t, data, fmt.Sprint(ids[1]))}

	srv.Cmd.Process.Signal(syscall.SIGKILL)
	<-srv.Ended
	for _, pid := range pids {
		testenv.Eventually(t, 5*time.Second, fmt.Sprintf("job process %d dies with the server", pid), func() bool { return !alive(pid) })
	}

	srv2 := startServer(t, data, "--workers", "3")
	cl, _ = client.New(srv2.URL, token, client.Options{})
	for _, id := range ids {
		final, err := cl.Watch(ctx, id, func(*client.Job) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if final.State != "COMPLETE" {
			t.Errorf("job %d ended %s (%s)", id, final.State, final.Reason)
		}
		// Exactly one attempt recorded a completion.
		logs, _ := filepath.Glob(filepath.Join(data, "jobs", fmt.Sprint(id), "*", "job.log"))
		more, _ := filepath.Glob(filepath.Join(data, "jobs", fmt.Sprint(id), "previous", "*", "job.log"))
		completions := 0
		for _, l := range append(logs, more...) {
			b, _ := os.ReadFile(l)
			completions += strings.Count(string(b), "\ncomplete\n")
		}
		if completions != 1 {
			t.Errorf("job %d completed %d times", id, completions)
		}
	}
	if !strings.Contains(srv2.Log(), "requeued jobs left running by the previous process") {
		t.Errorf("restart did not requeue:\n%s", srv2.Log())
	}
}

// SIGTERM drains: running jobs finish, then the server exits cleanly; a
// job that outlasts the drain time is handed back, not lost.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// The short job still runs when the drain begins and ends well within it.
	srv := startServer(t, data, "--workers", "2", "--drain-timeout", "6s")
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ctx := context.Background()
	short, _ := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":2}`)}, nil)
	long, _ := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":60,"exec":true}`)}, nil)
	testenv.Eventually(t, 10*time.Second, "both running", func() bool {
		l, err := cl.List(ctx, client.ListOptions{State: "ACTIVE"})
		return err == nil && len(l.Jobs) == 2
	})
	srv.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.Ended:
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if code := srv.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d:\n%s", code, srv.Log())
	}
	srv2 := startServer(t, data, "--workers", "0")
	cl, _ = client.New(srv2.URL, srv.adminToken(), client.Options{})
	if j, _ := cl.Get(ctx, short.ID); j.State != "COMPLETE" {
		t.Errorf("short job after drain: %s", j.State)
	}
	if j, _ := cl.Get(ctx, long.ID); j.State != "PENDING" || j.Attempt != 1 {
		t.Errorf("long job after drain: %s attempt %d", j.State, j.Attempt)
	}
}

func TestFitCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("# x y\n1 2.1\n2 3.9\n3 6.2\n4 7.8\n5 10.1\n"), 0o644)
	spec := `{"fitter":"lm","parameters":{"a":{"value":1},"b":{"value":0}},
		"datasets":[{"model":"a*x+b","file":"data.txt","columns":["x","y"]}]}`
	os.WriteFile(filepath.Join(dir, "spec.json"), []byte(spec), 0o644)
	out, errOut, code := bs(t, nil, "fit", filepath.Join(dir, "spec.json"), "--output", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("fit: %d %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var res struct {
		Chisq      float64
		Parameters map[string]struct{ Value float64 }
	}
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("more than one JSON document on stdout")
	}
	// Least squares by hand: Sxy/Sxx = 19.9/10, so slope 1.99.
	if a := res.Parameters["a"].Value; a < 1.989 || a > 1.991 {
		t.Errorf("a = %v", a)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "fit.svg")); err != nil {
		t.Errorf("no plot: %v", err)
	}
	// An unconverged DREAM fit: still one JSON document on stdout, the
	// warning on stderr.
	os.WriteFile(filepath.Join(dir, "dream.json"), []byte(strings.Replace(spec, `"lm"`, `"dream","options":{"samples":100,"seed":1}`, 1)), 0o644)
	out, errOut, code = bs(t, nil, "fit", filepath.Join(dir, "dream.json"))
	dec = json.NewDecoder(strings.NewReader(out))
	var dres struct {
		Converged *bool
		Warning   string
		Seed      int64
		Version   string
	}
	if err := dec.Decode(&dres); code != 0 || err != nil {
		t.Fatalf("fit dream: %d %v\n%s", code, err, errOut)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("fit dream: more than one JSON document on stdout")
	}
	if dres.Converged == nil || *dres.Converged || dres.Warning == "" || !strings.Contains(errOut, "warning: DREAM has not converged") {
		t.Errorf("fit dream: converged %v, warning %q, stderr %s", dres.Converged, dres.Warning, errOut)
	}
	if ver, _, code := bs(t, nil, "version", "--short"); code != 0 || strings.TrimSpace(ver) != dres.Version || dres.Seed != 1 {
		t.Errorf("version %q (exit %d), results say version %q and seed %d", ver, code, dres.Version, dres.Seed)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"fitter":"lm","parameters":{"a":{"value":1,"min":2,"max":1}},"datasets":[{"model":"a*x","x":[1],"y":[1]}]}`), 0o644)
	if _, errOut, code := bs(t, nil, "fit", filepath.Join(dir, "bad.json")); code != 2 || !strings.Contains(errOut, "parameters.a") {
		t.Errorf("bad spec: %d %s", code, errOut)
	}
}
