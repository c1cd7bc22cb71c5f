package slurm

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// Many jobs in Slurm at once cost one squeue call per tracking cycle, not
// one per job. It also measures how long Slurm takes from submission to
// running.
func TestManyJobsOneSqueuePerCycle(t *testing.T) {
	const n = 6
	b := setup(t, Config{}, n)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = b.submit(t, "sleep", `{"seconds": 2}`).ID
	}
	var latencies []time.Duration
	for _, id := range ids {
		sid := b.slurmID(t, id)
		awaitStarted(t, sid) // the jobs are short and looked at one after another
		out, _ := exec.Command("squeue", "-h", "-t", "all", "-o", "%V|%S", "-j", sid).Output()
		if d, ok := submitToStart(string(out)); ok {
			latencies = append(latencies, d)
		}
	}
	for _, id := range ids {
		wantState(t, b.wait(t, id, time.Minute), job.Complete, "")
	}
	st := b.ex.Stats()
	t.Logf("tracker: %d cycles, %d squeue calls, at most %d jobs in one call, %d Slurm commands for %d jobs",
		st.Cycles, st.SqueueCalls, st.WidestCycle, st.Commands, n)
	if st.SqueueCalls != st.Cycles {
		t.Errorf("%d squeue calls in %d cycles; want one per cycle", st.SqueueCalls, st.Cycles)
	}
	if st.WidestCycle < 2 {
		t.Errorf("no cycle covered more than %d job; want several jobs per squeue call", st.WidestCycle)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) > 0 {
		t.Logf("Slurm submit→start (SubmitTime→StartTime, 1 s resolution): min %v, median %v, max %v",
			latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1])
	}
	// From the API's 201 to RUNNING, for one more job with the queue empty.
	start := time.Now()
	j := b.submit(t, "sleep", `{"seconds": 0.1}`)
	awaitRunningOrDone(t, b, j)
	t.Logf("API submit → Slurm RUNNING: %v", time.Since(start).Round(10*time.Millisecond))
}

// submitToStart reads squeue's "%V|%S" (submit and start times).
func submitToStart(line string) (time.Duration, bool) {
	sub, start, _ := strings.Cut(strings.TrimSpace(line), "|")
	const layout = "2006-01-02T15:04:05"
	s, err1 := time.Parse(layout, sub)
	e, err2 := time.Parse(layout, start)
	return e.Sub(s), err1 == nil && err2 == nil
}

// awaitRunningOrDone polls squeue often (not the tracker) to catch a short
// job's start.
func awaitRunningOrDone(t *testing.T, b *bundle, j *client.Job) {
	var sid string
	testenv.Eventually(t, 30*time.Second, "job submitted", func() bool {
		var sub submission
		if jobdir.ReadJSON(filepath.Join(b.dir(j.ID), slurmFile), &sub) != nil {
			return false
		}
		sid = sub.SlurmID
		return true
	})
	testenv.Eventually(t, 30*time.Second, "Slurm job running", func() bool {
		st := slurmState(sid)
		return st != "" && st != "PENDING"
	})
	b.wait(t, j.ID, time.Minute)
}
