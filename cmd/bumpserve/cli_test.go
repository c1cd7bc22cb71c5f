package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
)

// Every user command's --help is its output: on stdout, exit 0, with
// flags shown as --flag; the internal commands are not offered to users;
// an unknown command or flag is an error on stderr, exit 2.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, errOut, code := bs(t, nil, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: bumpserve COMMAND") {
			t.Errorf("bumpserve %v: exit %d, stderr %q, stdout %q", args, code, errOut, out)
		}
		for _, c := range commands {
			listed := strings.Contains(out, "\n  "+c.name+" ")
			if listed == c.internal {
				t.Errorf("bumpserve %v: command %s listed %v, internal %v", args, c.name, listed, c.internal)
			}
		}
	}
	for _, c := range commands {
		if c.internal {
			continue
		}
		for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}} {
			out, errOut, code := bs(t, nil, args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: bumpserve "+c.name) {
				t.Errorf("bumpserve %v: exit %d, stderr %q, stdout %q", args, code, errOut, out)
			}
			if strings.Contains(out, "\n  -") && !strings.Contains(out, "\n  --") {
				t.Errorf("bumpserve %v: flags not shown as --flag:\n%s", args, out)
			}
		}
	}
	out, _, _ := bs(t, nil, "jobs", "--help")
	if !strings.Contains(out, "\n  --state string\n") || !strings.Contains(out, "(default 50)") {
		t.Errorf("jobs --help does not show --state and the default limit:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"jobs", "--frobnicate"}, "not defined: --frobnicate"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
	} {
		out, errOut, code := bs(t, nil, c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("bumpserve %v: exit %d, stdout %q, stderr %q; want exit 2 and %q on stderr", c.args, code, out, errOut, c.want)
		}
	}
}

// Every client command, pointed at a port nobody listens on, says so in
// one line and exits 1.
func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	env := []string{"BUMPSERVE_SERVER=" + url, "BUMPSERVE_TOKEN=bst_whatever"}
	want := "bumpserve: cannot reach " + url + ": connection refused; is `bumpserve serve` running?\n"
	for _, args := range [][]string{
		{"jobs"}, {"show", "1"}, {"wait", "1"}, {"logs", "1"}, {"logs", "-f", "1"}, {"results", "1"},
		{"files", "1"}, {"files", "1", "output/job.log"}, {"download", "1", t.TempDir()},
		{"cancel", "1"}, {"delete", "1"}, {"workers"}, {"submit", "--service", "sleep"},
	} {
		out, errOut, code := bs(t, env, args...)
		if code != 1 || errOut != want || out != "" {
			t.Errorf("bumpserve %v: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, out, errOut, want)
		}
	}
}

// decodeOne checks that s is exactly one JSON document and decodes it.
func decodeOne(t *testing.T, what, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s --json: not JSON: %v\n%s", what, err, s)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("%s --json: more than one JSON document:\n%s", what, s)
	}
}

// The operator commands against a real server: submit's resource flags
// and default names, --json on every listing and showing command,
// version, logs and download.
func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "2")
	out, errOut, code := bs(t, nil, "user", "add", "olga", "--data", srv.Data)
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	olga := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + lastWord(out)}
	admin := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	dir := t.TempDir()

	// --cpus, --wall and --memory-mb land in the spec beside its own keys;
	// a job without --name is named after its spec file.
	specFile := filepath.Join(dir, "nap.json")
	os.WriteFile(specFile, []byte(`{"seconds":0.2,"message":"hi","limits":{"processes":64}}`), 0o644)
	data := make([]byte, 100_000)
	rand.Read(data)
	dataFile := filepath.Join(dir, "noise.bin")
	os.WriteFile(dataFile, data, 0o644)
	out, errOut, code = bs(t, olga, "submit", "--service", "sleep", "--spec-file", specFile, dataFile,
		"--cpus", "1", "--wall", "90m", "--memory-mb", "512")
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)

	// A job document holding an array is one batch: all or none, ids one
	// a line, the resource flags applied to each. (The admin's, so that
	// olga's listing below holds her one job.)
	batchFile := filepath.Join(dir, "batch.json")
	os.WriteFile(batchFile, []byte(`[{"service":"sleep","name":"b1"},{"service":"sleep","spec":{"seconds":-1}}]`), 0o644)
	if _, errOut, code = bs(t, admin, "submit", batchFile); code == 0 || !strings.Contains(errOut, "jobs[1].spec.seconds") {
		t.Errorf("batch with a bad job: %d %s", code, errOut)
	}
	os.WriteFile(batchFile, []byte(`[{"service":"sleep","name":"b1"},{"service":"sleep","name":"b2"}]`), 0o644)
	out, errOut, code = bs(t, admin, "submit", batchFile, "--cpus", "1")
	if ids := strings.Fields(out); code != 0 || len(ids) != 2 {
		t.Fatalf("batch submit: %d %q %s", code, out, errOut)
	}
	var waited client.Job
	out, errOut, code = bs(t, olga, "wait", id, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("wait: %d %s", code, errOut)
	}
	decodeOne(t, "wait", out, &waited)
	var shown client.Job
	out, _, _ = bs(t, olga, "show", id, "--json")
	decodeOne(t, "show", out, &shown)
	var spec struct {
		Resources struct{ CPUs int }
		Limits    struct {
			WallSeconds float64 `json:"wall_seconds"`
			MemoryMB    int     `json:"memory_mb"`
			Processes   int
		}
		Message string
	}
	json.Unmarshal(shown.Spec, &spec)
	if waited.State != "COMPLETE" || shown.Name != "nap.json" || spec.Resources.CPUs != 1 || spec.Limits.WallSeconds != 5400 ||
		spec.Limits.MemoryMB != 512 || spec.Limits.Processes != 64 || spec.Message != "hi" {
		t.Errorf("job %s: state %s, name %q, spec %s", id, waited.State, shown.Name, shown.Spec)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "--service", "sleep", "--cpus", "0"}, "--cpus"},
		{[]string{"submit", "--service", "sleep", "--cpus", "two"}, "--cpus"},
		{[]string{"submit", "--service", "sleep", "--wall", "soon"}, "--wall"},
		{[]string{"submit", "--service", "sleep", "--wall", "-5"}, "--wall"},
		{[]string{"submit", "--service", "sleep", "--memory-mb", "-1"}, "--memory-mb"},
		{[]string{"submit", "--service", "sleep", "--spec", "[1]", "--cpus", "1"}, "not a JSON object"},
	} {
		if _, errOut, code := bs(t, olga, c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("bumpserve %v: exit %d, %q; want 2 naming %s", c.args, code, errOut, c.want)
		}
	}

	// --json: one document each, carrying what the listing shows.
	var jobs struct{ Jobs []client.Job }
	out, _, _ = bs(t, olga, "jobs", "--json")
	if decodeOne(t, "jobs", out, &jobs); len(jobs.Jobs) != 1 || fmt.Sprint(jobs.Jobs[0].ID) != id {
		t.Errorf("jobs --json: %s", out)
	}
	var results struct{ Message string }
	out, _, _ = bs(t, olga, "results", id, "--json")
	if decodeOne(t, "results", out, &results); results.Message != "hi" {
		t.Errorf("results --json: %s", out)
	}
	var files struct{ Files []client.File }
	out, _, _ = bs(t, olga, "files", id, "--json")
	if decodeOne(t, "files", out, &files); len(files.Files) < 3 {
		t.Errorf("files --json: %s", out)
	}
	var workers struct{ Workers []struct{ Name string } }
	out, errOut, _ = bs(t, admin, "workers", "--json")
	if decodeOne(t, "workers", out, &workers); len(workers.Workers) == 0 {
		t.Errorf("workers --json: %s %s", out, errOut)
	}
	var users struct{ Users []struct{ Name, Role string } }
	out, _, _ = bs(t, nil, "user", "list", "--json", "--data", srv.Data)
	if decodeOne(t, "user list", out, &users); len(users.Users) != 2 {
		t.Errorf("user list --json: %s", out)
	}
	var tokens struct{ Tokens []struct{ User string } }
	out, _, _ = bs(t, nil, "user", "tokens", "olga", "--json", "--data", srv.Data)
	if decodeOne(t, "user tokens", out, &tokens); len(tokens.Tokens) != 1 || tokens.Tokens[0].User != "olga" {
		t.Errorf("user tokens --json: %s", out)
	}
	var ver struct{ Version, Module, Go string }
	out, _, _ = bs(t, nil, "version", "--json")
	if decodeOne(t, "version", out, &ver); ver.Module != "github.com/bumpserve/bumpserve" || !strings.HasPrefix(ver.Go, "go1.") || ver.Version == "" {
		t.Errorf("version --json: %s", out)
	}
	if out, _, code := bs(t, nil, "version"); code != 0 || !strings.Contains(out, ver.Go) || !strings.Contains(out, ver.Version) {
		t.Errorf("version: %d %s", code, out)
	}

	// logs prints the job's log as stored.
	logFile := filepath.Join(srv.Data, "jobs", id, "output", "job.log")
	stored, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := bs(t, olga, "logs", id); code != 0 || out != string(stored) || !strings.HasSuffix(out, "complete\n") {
		t.Errorf("logs: %d %q %s; stored %q", code, out, errOut, stored)
	}

	// download reproduces every file byte for byte.
	into := filepath.Join(t.TempDir(), "job")
	if _, errOut, code := bs(t, olga, "download", id, into); code != 0 {
		t.Fatalf("download: %d %s", code, errOut)
	}
	for _, f := range files.Files {
		want, _ := os.ReadFile(filepath.Join(srv.Data, "jobs", id, filepath.FromSlash(f.Path)))
		got, err := os.ReadFile(filepath.Join(into, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("download %s: %d bytes (%v), want %d", f.Path, len(got), err, len(want))
		}
	}
	if got, _ := os.ReadFile(filepath.Join(into, "input", "noise.bin")); !bytes.Equal(got, data) {
		t.Errorf("download: input/noise.bin differs from the uploaded file")
	}
	// It never writes through a link or over a file: a link planted where
	// a job file goes is refused and its target left alone.
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	into2 := t.TempDir()
	os.MkdirAll(filepath.Join(into2, "output"), 0o755)
	os.Symlink(victim, filepath.Join(into2, "output", "sleep.txt"))
	if _, errOut, code := bs(t, olga, "download", id, into2); code != 1 || !strings.Contains(errOut, "output/sleep.txt") {
		t.Errorf("download over a link: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("download wrote through a link: victim now %q", b)
	}
	if _, errOut, code := bs(t, olga, "download", id); code != 2 || !strings.Contains(errOut, "ID DIR") {
		t.Errorf("download without DIR: exit %d, %s", code, errOut)
	}
}

// logs -f prints lines as the running job appends them and ends when the
// job ends, with the job's outcome as its exit status.
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "1")
	env := []string{"BUMPSERVE_SERVER=" + srv.URL, "BUMPSERVE_TOKEN=" + srv.adminToken()}
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ctx := context.Background()
	j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":120}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(j.ID)
	cmd := exec.Command(binary, "logs", id, "-f")
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				lines <- line
			}
			if err != nil {
				return
			}
		}
	}()
	var got strings.Builder
	next := func(what string) string {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("logs -f ended before %s; so far %q, stderr %s", what, got.String(), stderr.String())
			}
			got.WriteString(line)
			return line
		case <-time.After(60 * time.Second):
			t.Fatalf("no %s from logs -f; so far %q", what, got.String())
		}
		return ""
	}
	for !strings.HasPrefix(next("the sleeping line"), "sleeping") {
	}
	// The job runs for two minutes: these lines came while it ran. Now
	// end it; the line the worker appends must follow.
	if now, err := cl.Get(ctx, j.ID); err != nil || now.State != "ACTIVE" {
		t.Fatalf("job after its first lines: %v %v", now, err)
	}
	if _, err := cl.Cancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	for !strings.HasPrefix(next("the cancelled line"), "stopped: cancelled") {
	}
	for range lines {
		t.Errorf("lines after the job's end") // drains to EOF
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "ended in CANCEL") {
		t.Errorf("logs -f on a cancelled job: exit %d (%v), stderr %s", code, err, stderr.String())
	}
	// Exactly the stored log: each byte once, none missed.
	stored, _ := os.ReadFile(filepath.Join(srv.Data, "jobs", id, "output", "job.log"))
	if got.String() != string(stored) {
		t.Errorf("logs -f printed %q, the log holds %q", got.String(), stored)
	}
}
