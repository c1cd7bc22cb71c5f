package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A Bumps DREAM job on HTTP worker A sends each new state bumps saves to
// the controller; A is killed -9 after one, and worker B (another work
// directory, as another machine) takes the job up, fetches the state,
// gives it to bumps as --resume: its log says where it resumed, bumps
// says it loaded the state and goes on at the next generation, and the
// job ends COMPLETE.
func TestWorkerKill9ResumesBumpsDREAM(t *testing.T) {
	t.Parallel()
	_, err := os.Stat(service.DefaultBumpsPath)
	testenv.Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, "--workers", "0", "--lease", "3s", "--sandbox-uids", "68750-68759")
	tok := workerToken(t, data, "farm")
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ctx := context.Background()
	models := filepath.Join("..", "..", "internal", "service", "testdata", "bumps")
	a := startWorker(t, srv.URL, tok, "A", 1)
	j, err := cl.Submit(ctx, client.Submission{Service: "bumps",
		Spec: []byte(`{"model":"slow.py","fitter":"dream","options":{"samples":8000,"seed":1,"checkpoint_seconds":1}}`)},
		[]client.Upload{{Name: "slow.py", Path: filepath.Join(models, "slow.py")}, {Name: "linefn.py", Path: filepath.Join(models, "linefn.py")}})
	if err != nil {
		t.Fatal(err)
	}
	jobDir := filepath.Join(data, "jobs", fmt.Sprint(j.ID))
	sent := filepath.Join(jobDir, service.BumpsStateFile)
	testenv.Eventually(t, 120*time.Second, "worker A sends bumps' DREAM state to the controller", func() bool { return sentGenerations(sent) > 0 })
	a.Cmd.Process.Signal(syscall.SIGKILL)
	<-a.Ended
	atKill := sentGenerations(sent)

	startWorker(t, srv.URL, tok, "B", 1)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	final, err := cl.Watch(wctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" || final.Attempt != 2 || final.Worker != "B" {
		t.Fatalf("bumps job after worker A's kill: %v %s attempt %d on %s (%s)", err, final.State, final.Attempt, final.Worker, final.Reason)
	}
	log, _ := os.ReadFile(filepath.Join(jobDir, "output", "job.log"))
	m := regexp.MustCompile(`resumed from checkpoint at step (\d+) \(bumps' DREAM state saved in ` + regexp.QuoteMeta(service.BumpsStateFile)).FindSubmatch(log)
	if m == nil {
		t.Fatalf("no resumed line in the job log:\n%s", log)
	}
	var step int
	fmt.Sscan(string(m[1]), &step)
	// A may have sent a later state while the kill came.
	if step < atKill {
		t.Errorf("resumed at generation %d; %d were on the controller at the kill", step, atKill)
	}
	mon, _ := os.ReadFile(filepath.Join(jobDir, "output", "store", "slow.mon"))
	first := regexp.MustCompile(`(?m)^step (\d+) `).FindSubmatch(mon)
	if !bytes.Contains(mon, []byte("loading saved state from")) || first == nil || string(first[1]) != fmt.Sprint(step+1) {
		t.Errorf("bumps' monitor on worker B does not go on at generation %d:\n%.2000s", step+1, mon)
	}
	if res, err := cl.Results(ctx, j.ID); err != nil || !bytes.Contains(res, []byte(`"rhat"`)) {
		t.Errorf("results of the resumed bumps job: %v %s", err, res)
	}
}

// sentGenerations counts the generations in the chain file of a packed
// bumps state a worker sent (0: none, or not whole).
func sentGenerations(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	i := bytes.IndexByte(b, '\n') // past the magic line
	if i < 0 {
		return 0
	}
	tr := tar.NewReader(bytes.NewReader(b[i+1:]))
	h, err := tr.Next()
	if err != nil || h.Name != "chain.mc.gz" {
		return 0
	}
	return len(gzipGenerations(tr))
}
