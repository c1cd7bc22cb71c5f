package slurm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A job whose run-job dies without an exit record while bumpserve is not
// looking (a controller down longer than MinJobAge), and which Slurm then
// forgets: with no accounting to ask it ends in ERROR "lost", or is
// submitted again; with the job completion log (sacct -c) it ends in
// ERROR with Slurm's state.
func TestForgottenJob(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		state job.State
		want  string
	}{
		{"no accounting: lost", Config{Accounting: AccountingNone}, job.Error, job.ReasonLost},
		{"no accounting: requeued", Config{Accounting: AccountingNone, Forgotten: ForgottenRequeue}, job.Complete, ""},
		{"job completion log", Config{}, job.Error, "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t, tc.cfg, 2)
			j := b.submit(t, "sleep", `{"seconds": 15}`)
			sid := b.slurmID(t, j.ID)
			awaitRunning(t, sid)
			b.ex.trk.mu.Lock()
			b.ex.trk.away = func(id string) bool { return id == sid }
			b.ex.trk.mu.Unlock()
			killJob(t, b.dir(j.ID))
			testenv.Eventually(t, 90*time.Second, "Slurm forgets job "+sid, func() bool {
				return exec.Command("scontrol", "show", "job", sid).Run() != nil
			})
			b.ex.trk.mu.Lock()
			b.ex.trk.away = nil
			b.ex.trk.mu.Unlock()
			final := b.wait(t, j.ID, time.Minute)
			wantState(t, final, tc.state, tc.want)
			if tc.state == job.Error && tc.want == job.ReasonLost && final.Reason != job.ReasonLost {
				t.Errorf("reason %q; want exactly %q", final.Reason, job.ReasonLost)
			}
		})
	}
}

// killJob SIGKILLs the run-job process working in dir (found by its
// command line, so nothing else can be hit): it dies without writing its
// exit record.
func killJob(t *testing.T, dir string) {
	t.Helper()
	want := "run-job\x00--dir\x00" + dir + "\x00"
	var pid int
	// Slurm says RUNNING a moment before the batch script has exec'd.
	testenv.Eventually(t, 10*time.Second, "run-job started for "+dir, func() bool {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range procs {
			b, err := os.ReadFile(f)
			if err != nil || !strings.HasPrefix(string(b), bin+"\x00") || !strings.HasSuffix(string(b), want) {
				continue
			}
			if p, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil && p > 1 {
				pid = p
				return true
			}
		}
		return false
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill run-job %d: %v", pid, err)
	}
}
