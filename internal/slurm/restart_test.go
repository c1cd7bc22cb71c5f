package slurm

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A controller killed with -9 while its jobs run in Slurm takes them up
// again when it restarts: the same attempt follows the same Slurm job to
// its end, or collects the result of one that ended meanwhile, and the
// work done without the controller is not lost.
func TestRestartedControllerFollowsItsSlurmJobs(t *testing.T) {
	t.Parallel()
	testenv.Need(t, slurmUp, "a running Slurm: run scripts/slurm-start as root")
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	data := t.TempDir()
	first := startServe(t, data)
	token, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := client.New(first.url, strings.TrimSpace(string(token)), client.Options{})
	ctx := context.Background()
	var ids []int64
	var subs []submission
	for _, seconds := range []string{"6", "0.5"} { // one runs through the restart, one ends before it
		j, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds": ` + seconds + `}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sub submission
		testenv.Eventually(t, 30*time.Second, "job submitted to Slurm", func() bool {
			return readJSON(filepath.Join(data, "jobs", itoa(j.ID), slurmFile), &sub) == nil
		})
		ids, subs = append(ids, j.ID), append(subs, sub)
	}
	awaitRunning(t, subs[0].SlurmID)

	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.ended
	testenv.Eventually(t, 30*time.Second, "the short Slurm job ends without the controller", func() bool {
		st := slurmState(subs[1].SlurmID)
		return st == "COMPLETED" || st == ""
	})
	if st := slurmState(subs[0].SlurmID); st != "RUNNING" {
		t.Fatalf("Slurm job %s is %q after the controller died; it should go on", subs[0].SlurmID, st)
	}

	second := startServe(t, data)
	cl, _ = client.New(second.url, strings.TrimSpace(string(token)), client.Options{})
	for i, id := range ids {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		final, err := cl.Watch(wctx, id, func(*client.Job) error { return nil })
		cancel()
		if err != nil {
			t.Fatalf("job %d did not end: %v\nserver log:\n%s", id, err, second.log())
		}
		if final.State != job.Complete || final.Attempt != 1 {
			t.Errorf("job %d ended %s %q at attempt %d; want COMPLETE at attempt 1\nserver log:\n%s",
				id, final.State, final.Reason, final.Attempt, second.log())
		}
		dir := filepath.Join(data, "jobs", itoa(id))
		var after submission
		if readJSON(filepath.Join(dir, slurmFile), &after); after.SlurmID != subs[i].SlurmID {
			t.Errorf("Slurm job %s was replaced by %s", subs[i].SlurmID, after.SlurmID)
		}
		if st := slurmState(subs[i].SlurmID); st == "CANCELLED" {
			t.Errorf("Slurm job %s was cancelled", subs[i].SlurmID)
		}
		logText, _ := os.ReadFile(filepath.Join(dir, "output", "job.log"))
		if !strings.Contains(string(logText), "following Slurm job "+subs[i].SlurmID+" again") {
			t.Errorf("job %d's log does not say the job was followed again:\n%s", id, logText)
		}
	}
}

// served is a `bumpserve serve --executor slurm` process.
type served struct {
	cmd   *exec.Cmd
	url   string
	ended chan struct{}
	mu    sync.Mutex
	out   strings.Builder
}

func (s *served) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

var listeningURL = regexp.MustCompile(`msg="bumpserve listening" url=(\S+)`)

// startServe runs the controller binary with a Slurm executor on data.
func startServe(t *testing.T, data string) *served {
	t.Helper()
	s := &served{ended: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--executor", "slurm",
		"--slurm-poll", "200ms", "--drain-timeout", "1s")
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listeningURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	go func() { s.cmd.Wait(); close(s.ended) }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.ended })
	select {
	case s.url = <-urls:
	case <-s.ended:
		t.Fatalf("serve exited:\n%s", s.log())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return s
}
