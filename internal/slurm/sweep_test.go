package slurm

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A restarted controller (Recover) or worker sweeps the Slurm jobs its
// previous process left, before their jobs run again.
func TestSweepCancelsALeftoverSlurmJob(t *testing.T) {
	t.Parallel()
	testenv.Need(t, slurmUp, "a running Slurm: run scripts/slurm-start as root")
	ex, err := New(Config{Bin: "/bin/true", Poll: 100 * time.Millisecond, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	jobs := t.TempDir()
	dir := filepath.Join(jobs, "7")
	out, err := exec.Command("sbatch", "--parsable", "--job-name=bumpserve-sweep-test", "--output=/dev/null", "--wrap", "sleep 300").Output()
	if err != nil {
		t.Fatalf("sbatch: %v", err)
	}
	sid := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("scancel", sid).Run() })
	if err := jobdir.WriteJSON(filepath.Join(mkdir(t, dir), slurmFile), submission{SlurmID: sid, JobID: 7, Attempt: 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	ex.Sweep(dir)
	if st := slurmState(sid); st != "CANCELLED" {
		t.Errorf("Slurm job %s is %q after the sweep; want CANCELLED", sid, st)
	}
}
