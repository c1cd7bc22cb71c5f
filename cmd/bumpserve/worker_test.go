package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// workerProc is a `bumpserve worker` process.
type workerProc struct{ *testenv.Proc }

func startWorker(t *testing.T, url, token, name string, slots int) *workerProc {
	t.Helper()
	return startWorkerArgs(t, url, token, name, slots)
}

func startWorkerArgs(t *testing.T, url, token, name string, slots int, extra ...string) *workerProc {
	t.Helper()
	return &workerProc{testenv.StartProc(t, "worker "+name, binary, append([]string{"worker", "--server", url, "--token", token, "--name", name,
		"--slots", strconv.Itoa(slots), "--work-dir", t.TempDir(), "--drain-timeout", "5s", "--sandbox-uids", uidRange()}, extra...)...)}
}

var startedJob = regexp.MustCompile(`msg="job started" .*job=(\d+)`)

// executions counts "job started" lines per job id across workers' logs.
func executions(ws ...*workerProc) map[int64]int {
	n := map[int64]int{}
	for _, w := range ws {
		for _, m := range startedJob.FindAllStringSubmatch(w.Log(), -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			n[id]++
		}
	}
	return n
}

func workerToken(t *testing.T, data, name string) string {
	out, errOut, code := bs(t, nil, "user", "add", name, "--worker", "--data", data)
	if code != 0 {
		t.Fatalf("user add --worker: %s", errOut)
	}
	return lastWord(out)
}

func submitSleeps(t *testing.T, cl *client.Client, n int, spec string) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		j, err := cl.Submit(context.Background(), client.Submission{Service: "sleep", Spec: json.RawMessage(spec)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = j.ID
	}
	return ids
}

func waitAll(t *testing.T, cl *client.Client, ids []int64, timeout time.Duration) map[int64]*client.Job {
	t.Helper()
	out := map[int64]*client.Job{}
	testenv.Eventually(t, timeout, fmt.Sprintf("%d jobs finish", len(ids)), func() bool {
		for _, id := range ids {
			if out[id] != nil && out[id].State.Terminal() {
				continue
			}
			j, err := cl.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = j
			if !j.State.Terminal() {
				return false
			}
		}
		return true
	})
	return out
}

// 1,000 jobs across 3 workers: every job executed and completed exactly
// once; each worker took some.
func TestThousandJobsThreeWorkers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("long")
	}
	srv := startServer(t, t.TempDir(), "--workers", "0", "--submit-rate", "100000")
	tok := workerToken(t, srv.Data, "farm")
	var ws []*workerProc
	for i := range 3 {
		ws = append(ws, startWorker(t, srv.URL, tok, fmt.Sprintf("node%d", i), 4))
	}
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ids := submitSleeps(t, cl, 1000, `{"seconds":0}`)
	jobs := waitAll(t, cl, ids, 3*time.Minute)
	perWorker := map[string]int{}
	for _, j := range jobs {
		if j.State != "COMPLETE" || j.Attempt != 1 {
			t.Errorf("job %d: %s attempt %d (%s)", j.ID, j.State, j.Attempt, j.Reason)
		}
		perWorker[j.Worker]++
	}
	ex := executions(ws...)
	for _, id := range ids {
		if ex[id] != 1 {
			t.Errorf("job %d executed %d times", id, ex[id])
		}
	}
	if len(perWorker) != 3 {
		t.Errorf("jobs per worker = %v", perWorker)
	}
	t.Logf("jobs per worker: %v", perWorker)
}

// A worker killed mid-job loses its lease; the job runs elsewhere with
// attempt+1.
func TestWorkerKilledMidJob(t *testing.T) {
	t.Parallel()
	// The job outlasts a slow poll (it must still run when doomed is
	// killed); the lease is long enough that a heartbeat slowed by the
	// other tests' load does not lose it.
	srv := startServer(t, t.TempDir(), "--workers", "0", "--lease", "4s")
	tok := workerToken(t, srv.Data, "farm")
	doomed := startWorker(t, srv.URL, tok, "doomed", 1)
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ids := submitSleeps(t, cl, 1, `{"seconds":5,"exec":true}`)
	testenv.Eventually(t, 10*time.Second, "job running on doomed", func() bool {
		j, _ := cl.Get(context.Background(), ids[0])
		return j.State == "ACTIVE" && j.Worker == "doomed"
	})
	doomed.Cmd.Process.Signal(syscall.SIGKILL)
	<-doomed.Ended
	startWorker(t, srv.URL, tok, "rescuer", 1)
	j := waitAll(t, cl, ids, 30*time.Second)[ids[0]]
	if j.State != "COMPLETE" || j.Attempt != 2 || j.Worker != "rescuer" {
		t.Errorf("job after its worker died: %s attempt %d on %s", j.State, j.Attempt, j.Worker)
	}
}

// A worker frozen past its lease (SIGSTOP) loses the job; when it thaws,
// its late result is refused and changes nothing.
func TestFrozenWorkerLateResultRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir(), "--workers", "0", "--lease", "4s")
	tok := workerToken(t, srv.Data, "farm")
	frozen := startWorker(t, srv.URL, tok, "frozen", 1)
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ids := submitSleeps(t, cl, 1, `{"seconds":5}`)
	testenv.Eventually(t, 10*time.Second, "job running on frozen", func() bool {
		j, _ := cl.Get(context.Background(), ids[0])
		return j.State == "ACTIVE" && j.Worker == "frozen"
	})
	frozen.Cmd.Process.Signal(syscall.SIGSTOP)
	testenv.Eventually(t, 30*time.Second, "lease expires", func() bool {
		j, _ := cl.Get(context.Background(), ids[0])
		return j.State == "PENDING" && j.Attempt == 2
	})
	thawed := startWorker(t, srv.URL, tok, "thawed", 1)
	j := waitAll(t, cl, ids, 30*time.Second)[ids[0]]
	frozen.Cmd.Process.Signal(syscall.SIGCONT)
	testenv.Eventually(t, 10*time.Second, "the frozen worker's result is refused", func() bool {
		ok := leaseLost.MatchString(frozen.Log())
		if !ok && testing.Verbose() {
			t.Log(frozen.Log())
		}
		return ok
	})
	after, _ := cl.Get(context.Background(), ids[0])
	if j.State != "COMPLETE" || after.Worker != "thawed" || after.Attempt != 2 || !after.Finished.Equal(*j.Finished) {
		t.Errorf("job: %s on %s attempt %d; after the late result: %s on %s", j.State, j.Worker, j.Attempt, after.State, after.Worker)
	}
	_ = thawed
}

// Kill -9 the controller under load with remote workers running: they
// keep their jobs, deliver results when it is back (within the lease),
// and every job completes exactly once.
func TestControllerKilledUnderLoad(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	srv := startServer(t, data, "--workers", "0", "--lease", "20s")
	addr := srv.URL
	tok := workerToken(t, data, "farm")
	ws := []*workerProc{startWorker(t, addr, tok, "a", 2), startWorker(t, addr, tok, "b", 2)}
	cl, _ := client.New(addr, srv.adminToken(), client.Options{})
	ids := submitSleeps(t, cl, 40, `{"seconds":0.3}`)
	testenv.Eventually(t, 10*time.Second, "some jobs done", func() bool {
		l, _ := cl.List(context.Background(), client.ListOptions{State: "COMPLETE"})
		return len(l.Jobs) >= 4
	})
	srv.Cmd.Process.Signal(syscall.SIGKILL)
	<-srv.Ended
	// Same address, so the workers find it again.
	srv2 := startServer(t, data, "--workers", "0", "--lease", "20s", "--addr", addr[len("http://"):])
	cl, _ = client.New(srv2.URL, srv.adminToken(), client.Options{})
	jobs := waitAll(t, cl, ids, 2*time.Minute)
	ex := executions(ws...)
	for _, id := range ids {
		if jobs[id].State != "COMPLETE" {
			t.Errorf("job %d: %s (%s)", id, jobs[id].State, jobs[id].Reason)
		}
		if ex[id] != 1 {
			t.Errorf("job %d executed %d times", id, ex[id])
		}
	}
}

// leaseLost matches a worker's log when it learns it lost a job: either
// its heartbeat or its result was refused.
var leaseLost = regexp.MustCompile(`result refused: lease lost|job abandoned: its lease was lost`)
