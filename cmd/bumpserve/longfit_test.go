package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// longDREAMSpec writes testenv.SeededDREAMSpec to a file in dir: a
// seeded DREAM fit that runs for seconds, checkpointing every second (or
// every ckpt seconds); burn sets its least burn-in.
func longDREAMSpec(t *testing.T, dir string, samples, burn int, ckpt ...int) string {
	t.Helper()
	every := 1
	if len(ckpt) > 0 {
		every = ckpt[0]
	}
	path := filepath.Join(dir, fmt.Sprintf("dream-%d-%d-%v.json", samples, burn, ckpt))
	if err := os.WriteFile(path, testenv.SeededDREAMSpec(samples, burn, every), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkpointStep reads the step of the job's saved checkpoint (-1: none).
func checkpointStep(data string, id int64) int {
	b, err := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(id), "checkpoint.fit"))
	if err != nil {
		return -1
	}
	lines := bytes.SplitN(b, []byte("\n"), 3)
	var h struct{ Step int }
	if len(lines) < 3 || json.Unmarshal(lines[1], &h) != nil {
		return -1
	}
	return h.Step
}

// sameResults compares a job's results with a reference run's, field by
// field: every number of the result must be the same bit for bit.
func sameResults(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: results are not JSON: %v\n%s", what, err, got)
	}
	json.Unmarshal(want, &w)
	for k := range w {
		if !reflect.DeepEqual(g[k], w[k]) {
			t.Errorf("%s: %s differs from the uninterrupted run's:\n got %v\nwant %v", what, k, g[k], w[k])
		}
	}
}

var resumedLine = regexp.MustCompile(`resumed from checkpoint at step (\d+)\n`)

// Kill -9 the server while a seeded DREAM fit runs, once in its burn-in
// and once while it samples: each next attempt goes on from the last
// checkpoint, says so in the job log, and the job ends COMPLETE with the
// result of a run never interrupted. Then a checkpoint truncated on
// purpose is refused, logged, and the fit starts afresh to the same end.
func TestKill9ResumesDREAM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const burn = 12000
	spec := longDREAMSpec(t, dir, 200000, burn)
	ref, errOut, code := bs(t, nil, "fit", spec)
	if code != 0 {
		t.Fatalf("reference fit: %d %s", code, errOut)
	}
	specJSON, _ := os.ReadFile(spec)

	data := filepath.Join(dir, "data")
	uids := []string{"67700-67709", "67710-67719", "67720-67729", "67730-67739"}
	srv := startServer(t, data, "--workers", "1", "--sandbox-uids", uids[0])
	token := srv.adminToken()
	cl, _ := client.New(srv.URL, token, client.Options{})
	ctx := context.Background()
	j, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: specJSON}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Kill in burn-in (a checkpoint before generation burn), then while
	// sampling (a checkpoint well past it).
	for i, in := range []func(step int) bool{
		func(s int) bool { return s > 0 && s < burn },
		func(s int) bool { return s > burn+2000 },
	} {
		testenv.Eventually(t, 120*time.Second, fmt.Sprintf("kill %d: a checkpoint at the step wanted", i+1), func() bool { return in(checkpointStep(data, j.ID)) })
		srv.Cmd.Process.Signal(syscall.SIGKILL)
		<-srv.Ended
		// What the kill left (a checkpoint may have come meanwhile).
		at := checkpointStep(data, j.ID)
		if !in(at) {
			t.Fatalf("kill %d: checkpoint moved on to %d", i+1, at)
		}
		srv = startServer(t, data, "--workers", "1", "--sandbox-uids", uids[i+1])
		cl, _ = client.New(srv.URL, token, client.Options{})
		// The next attempt says where it resumed: at the checkpoint
		// the kill left.
		testenv.Eventually(t, 60*time.Second, fmt.Sprintf("attempt %d resumes", i+2), func() bool {
			b, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(j.ID), "job.log"))
			m := resumedLine.FindSubmatch(b)
			return m != nil && string(m[1]) == fmt.Sprint(at)
		})
	}
	final, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if final.State != "COMPLETE" || final.Attempt != 3 {
		t.Fatalf("job ended %s at attempt %d (%s)", final.State, final.Attempt, final.Reason)
	}
	got, _, _ := bs(t, []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + token}, "results", fmt.Sprint(j.ID))
	sameResults(t, "after two kills", []byte(got), []byte(ref))
	if log, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(j.ID), "output", "job.log")); !resumedLine.Match(log) {
		t.Errorf("final job.log has no resumed line:\n%s", log)
	}

	// A truncated checkpoint: refused, logged, fresh start, same result.
	j2, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: specJSON}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 120*time.Second, "a checkpoint of the second job", func() bool { return checkpointStep(data, j2.ID) > 0 })
	srv.Cmd.Process.Signal(syscall.SIGKILL)
	<-srv.Ended
	path := filepath.Join(data, "jobs", fmt.Sprint(j2.ID), "checkpoint.fit")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, data, "--workers", "1", "--sandbox-uids", uids[3])
	cl, _ = client.New(srv.URL, token, client.Options{})
	final, err = cl.Watch(ctx, j2.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" {
		t.Fatalf("job after a truncated checkpoint: %v %v (%s)", final.State, err, final.Reason)
	}
	log, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(j2.ID), "output", "job.log"))
	if !strings.Contains(string(log), "checkpoint not used, starting afresh: checkpoint damaged or truncated") || resumedLine.Match(log) {
		t.Errorf("a truncated checkpoint is not logged as refused:\n%s", log)
	}
	got, _, _ = bs(t, []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + token}, "results", fmt.Sprint(j2.ID))
	sameResults(t, "after a truncated checkpoint", []byte(got), []byte(ref))
}

// Stop a running DREAM fit from the command line: it ends COMPLETE with
// the draws so far, marked stopped; resume continues it in a new job for
// more samples. Stop and resume refuse what they cannot do.
func TestStopAndResumeCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, filepath.Join(dir, "data"), "--workers", "1", "--sandbox-uids", "67740-67749")
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ctx := context.Background()
	spec := longDREAMSpec(t, dir, 1000000, 100)
	out, errOut, code := bs(t, env, "submit", "--service", "fit", "--spec-file", spec)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	var jid int64
	fmt.Sscan(id, &jid)
	testenv.Eventually(t, 60*time.Second, "the fit samples", func() bool {
		j, err := cl.Get(ctx, jid)
		return err == nil && j.Progress != nil && j.Progress.Step > 2000
	})
	if out, errOut, code = bs(t, env, "stop", id); code != 0 || !strings.Contains(out, "stop requested") {
		t.Fatalf("stop: %d %s %s", code, out, errOut)
	}
	if out, errOut, code = bs(t, env, "wait", id, "--quiet"); code != 0 {
		t.Fatalf("wait on a stopped fit: %d %s %s", code, out, errOut)
	}
	res, _, _ := bs(t, env, "results", id)
	var r struct {
		Stopped bool
		Warning string
		Message string
		Steps   int
		Params  map[string]struct{ P95 *[2]float64 } `json:"parameters"`
	}
	json.Unmarshal([]byte(res), &r)
	draws := 0
	if m := regexp.MustCompile(`, (\d+) draws`).FindStringSubmatch(r.Message); m != nil {
		fmt.Sscan(m[1], &draws)
	}
	if draws == 0 || !r.Stopped || !strings.Contains(r.Warning, "stopped early by request") || r.Params["a"].P95 == nil || r.Steps >= 1000000/8 {
		t.Fatalf("stopped results: %s", res)
	}
	if _, errOut, code = bs(t, env, "stop", id); code != 1 || !strings.Contains(errOut, "not running") {
		t.Errorf("stop of an ended job: %d %s", code, errOut)
	}
	// Continue it for 4000 more draws.
	out, errOut, code = bs(t, env, "resume", id, "--samples", "4000")
	if code != 0 {
		t.Fatalf("resume: %d %s", code, errOut)
	}
	next := strings.TrimSpace(out)
	if out, errOut, code = bs(t, env, "wait", next, "--quiet"); code != 0 {
		t.Fatalf("wait on the continued fit: %d %s %s", code, out, errOut)
	}
	res, _, _ = bs(t, env, "results", next)
	var r2 struct {
		Stopped bool
		Message string
		Steps   int
	}
	json.Unmarshal([]byte(res), &r2)
	want := fmt.Sprintf("%d draws", draws+4000)
	if r2.Stopped || !strings.Contains(r2.Message, want) || r2.Steps != r.Steps+500 {
		t.Errorf("continued fit: want %s and %d steps: %s", want, r.Steps+500, res)
	}
	log, _, _ := bs(t, env, "logs", next)
	if !strings.Contains(log, fmt.Sprintf("continuing the earlier fit from generation %d", r.Steps)) {
		t.Errorf("continued fit's log:\n%s", log)
	}
	// What they refuse.
	sleep, _, _ := bs(t, env, "submit", "--service", "sleep", "--spec", `{"seconds":30}`)
	sleep = strings.TrimSpace(sleep)
	testenv.Eventually(t, 30*time.Second, "the sleep job runs", func() bool {
		o, _, _ := bs(t, env, "show", sleep)
		return strings.Contains(o, `"ACTIVE"`)
	})
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"stop", sleep}, 1, "stop early ends fits"},
		{[]string{"resume", sleep, "--samples", "10"}, 1, "only native DREAM fits"},
		{[]string{"resume", id}, 2, "samples"},
		{[]string{"resume", id, "--samples", "-3"}, 2, "samples"},
		{[]string{"stop", "999999"}, 1, "404"},
	} {
		if _, errOut, code := bs(t, env, c.args...); code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, want %d with %q: %s", c.args, code, c.code, c.msg, errOut)
		}
	}
	bs(t, env, "cancel", sleep)
}

// SIGTERM drains: a DREAM fit that outlasts the drain is handed back
// having saved its state at that moment (no periodic checkpoint falls in
// this run: the interval is an hour), and the next attempt goes on from
// there to the uninterrupted result.
func TestDrainResumesDREAM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := longDREAMSpec(t, dir, 150000, 2000, 3600)
	ref, errOut, code := bs(t, nil, "fit", spec)
	if code != 0 {
		t.Fatalf("reference fit: %d %s", code, errOut)
	}
	specJSON, _ := os.ReadFile(spec)
	data := filepath.Join(dir, "data")
	srv := startServer(t, data, "--workers", "1", "--drain-timeout", "1s", "--sandbox-uids", "67750-67759")
	token := srv.adminToken()
	cl, _ := client.New(srv.URL, token, client.Options{})
	ctx := context.Background()
	j, err := cl.Submit(ctx, client.Submission{Service: "fit", Spec: specJSON}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	testenv.Eventually(t, 60*time.Second, "the fit is well under way", func() bool {
		got, err := cl.Get(ctx, j.ID)
		if err == nil && got.Progress != nil {
			seen = got.Progress.Step
		}
		return seen > 3000
	})
	srv.Cmd.Process.Signal(syscall.SIGTERM)
	<-srv.Ended
	at := checkpointStep(data, j.ID)
	if at < seen {
		t.Fatalf("drained at step >= %d, checkpoint at %d", seen, at)
	}
	srv = startServer(t, data, "--workers", "1", "--sandbox-uids", "67760-67769")
	cl, _ = client.New(srv.URL, token, client.Options{})
	final, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" {
		t.Fatalf("drained job: %v %v (%s)", final.State, err, final.Reason)
	}
	log, _ := os.ReadFile(filepath.Join(data, "jobs", fmt.Sprint(j.ID), "output", "job.log"))
	if !strings.Contains(string(log), fmt.Sprintf("resumed from checkpoint at step %d\n", at)) {
		t.Errorf("no resumed line for step %d:\n%s", at, log)
	}
	got, _, _ := bs(t, []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + token}, "results", fmt.Sprint(j.ID))
	sameResults(t, "after a drain", []byte(got), []byte(ref))
}
