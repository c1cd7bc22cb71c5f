package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/mpi"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A Bumps job of two tasks on `bumpserve serve`'s own slots runs its MPI
// ranks in the server's sandbox (as root: the job's uid, namespaces and
// cgroups, with a loopback-only network namespace) and gives the seeded
// serial job's numbers.
func TestBumpsMPIRanksOnLocalSlots(t *testing.T) {
	t.Parallel()
	_, err := os.Stat("/usr/bin/bumps")
	testenv.Need(t, err == nil && mpi.Installed() == nil, "bumps and MPI (Debian: python3-bumps openmpi-bin python3-mpi4py python3-dill)")
	srv := startServer(t, t.TempDir(), "--workers", "2")
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	testdata := filepath.Join("..", "..", "internal", "service", "testdata", "bumps")
	files := []client.Upload{{Name: "gpeak.py", Path: filepath.Join(testdata, "gpeak.py")}, {Name: "gpeak.txt", Path: filepath.Join(testdata, "gpeak.txt")}}
	var results [2]map[string]any
	for i, tasks := range []string{"1", "2"} {
		spec := `{"model": "gpeak.py", "fitter": "dream", "options": {"samples": 3000, "seed": 5}, "resources": {"tasks": ` + tasks + `}}`
		j, err := cl.Submit(context.Background(), client.Submission{Service: "bumps", Spec: json.RawMessage(spec)}, files)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		end, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
		cancel()
		if err != nil || end.State != "COMPLETE" {
			t.Fatalf("job of %s tasks: %v %+v", tasks, err, end)
		}
		if mpiNS := slices.Contains(end.Protections, sandbox.ProtNetNSLoopback); mpiNS != (tasks == "2") {
			t.Errorf("job of %s tasks ran under %v", tasks, end.Protections)
		}
		if tasks == "2" && !slices.Contains(end.Protections, sandbox.ProtUID) && os.Geteuid() == 0 {
			t.Errorf("the ranks ran without a uid of their own: %v", end.Protections)
		}
		raw, err := cl.Results(context.Background(), j.ID)
		if err != nil || json.Unmarshal(raw, &results[i]) != nil {
			t.Fatalf("results: %s %v", raw, err)
		}
	}
	for _, key := range []string{"chisq", "parameters", "seed"} {
		if !reflect.DeepEqual(results[0][key], results[1][key]) {
			t.Errorf("%s: serial %v, 2 MPI ranks %v", key, results[0][key], results[1][key])
		}
	}
	if results[1]["message"] != "ran as 2 MPI ranks (bumps --mpi)" {
		t.Errorf("message %q", results[1]["message"])
	}
}
