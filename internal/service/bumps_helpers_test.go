package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/bumps"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// bumpsTimeout bounds one bumps job in these tests; CI has 2 slow cores
// shared by the tests running in parallel.
const bumpsTimeout = 90 * time.Second

func needBumps(t *testing.T) {
	t.Helper()
	_, err := os.Stat(service.DefaultBumpsPath)
	testenv.Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
}

// docModel finds an example model shipped in Debian's python-bumps-doc.
func docModel(t *testing.T, name string) string {
	t.Helper()
	m, _ := filepath.Glob("/usr/share/doc/python-bumps-doc/html/_downloads/*/" + name)
	testenv.Need(t, len(m) > 0, "bumps: example "+name+" missing (apt-get install python-bumps-doc)")
	return m[0]
}

// testModel is a model or data file under testdata/bumps.
func testModel(name string) string { return filepath.Join("testdata", "bumps", name) }

// direct runs bumps by hand, as a user would: the model's files copied to
// a folder, bumps called there on the model with the given arguments and
// a store beside it. It returns the store.
func direct(t *testing.T, files []string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store := filepath.Join(dir, "store")
	argv := append([]string{filepath.Join(dir, filepath.Base(files[0]))}, args...)
	argv = append(argv, "--batch", "--store="+store)
	cmd := exec.Command(service.DefaultBumpsPath, argv...)
	cmd.Dir = dir
	// A private HOME keeps matplotlib's cache out of the tester's home.
	cmd.Env = append(os.Environ(), "HOME="+dir, "MPLCONFIGDIR="+filepath.Join(dir, "mpl"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("direct bumps %v: %v\n%s", argv, err, stderr.String())
	}
	return store
}

// uploads names files for a submission by their base names.
func uploads(files ...string) []client.Upload {
	out := make([]client.Upload, len(files))
	for i, f := range files {
		out[i] = client.Upload{Name: filepath.Base(f), Path: f}
	}
	return out
}

func submitBumps(t *testing.T, cl *client.Client, spec string, files ...string) *client.Job {
	t.Helper()
	j, err := cl.Submit(context.Background(), client.Submission{Service: "bumps", Spec: json.RawMessage(spec)}, uploads(files...))
	if err != nil {
		t.Fatalf("submit %s: %v", spec, err)
	}
	return j
}

// follow watches a job's events stream to its end, returning the last
// snapshot and every progress it showed while ACTIVE.
func follow(t *testing.T, cl *client.Client, id int64) (*client.Job, []job.Progress) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bumpsTimeout)
	defer cancel()
	var seen []job.Progress
	end, err := cl.Watch(ctx, id, func(j *client.Job) error {
		if j.State == job.Active && j.Progress != nil {
			seen = append(seen, *j.Progress)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("watch job %d: %v", id, err)
	}
	return end, seen
}

// download reads one of a job's files.
func download(t *testing.T, cl *client.Client, id int64, path string) []byte {
	t.Helper()
	rc, err := cl.Download(context.Background(), id, path)
	if err != nil {
		t.Fatalf("download %s: %v", path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAsDirect checks a finished job against a direct run's store: its
// results equal what the same reader makes of the direct store (message
// seed and provenance aside), and the store files that hold numbers are byte for
// byte the same. Every file of the direct store is among the job's files.
func sameAsDirect(t *testing.T, cl *client.Client, j *client.Job, store, name, fitter string) map[string]any {
	t.Helper()
	raw, err := cl.Results(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := jobfs.OpenDir(store)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	want, err := bumps.Load(sd, name, fitter)
	if err != nil {
		t.Fatal(err)
	}
	var got bumps.Result
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	got.Message, got.Seed = "", nil
	got.Version, got.Engine, got.Versions, got.Options = "", "", nil, nil // checked by the callers
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("job %d results differ from the direct run:\n got %s\nwant %s", j.ID, gb, wb)
	}
	files, err := cl.Files(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range files {
		listed[f.Path] = true
	}
	ents, _ := os.ReadDir(store)
	for _, e := range ents {
		p := "output/store/" + e.Name()
		if !listed[p] {
			t.Errorf("job %d lists no %s (files: %v)", j.ID, p, keys(listed))
		}
	}
	for _, suffix := range []string{".par", "-err.json", ".dat"} {
		w, err := os.ReadFile(filepath.Join(store, name+suffix))
		if err != nil {
			continue // not every fitter writes every file
		}
		if g := download(t, cl, j.ID, "output/store/"+name+suffix); !bytes.Equal(g, w) {
			t.Errorf("job %d: %s%s differs from the direct run's", j.ID, name, suffix)
		}
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mustContain(t *testing.T, what, s string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(s, w) {
			t.Errorf("%s = %q, missing %q", what, s, w)
		}
	}
}
