package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
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

// A Bumps DREAM job saves bumps' own state (--checkpoint) while it runs;
// the server is killed -9 after one, and the next attempt gives bumps
// the newest whole state of the previous attempt's store (--resume): its
// log says where it resumed, its chains begin with the generations the
// first attempt had saved, and the job ends COMPLETE.
func TestKill9ResumesBumpsDREAM(t *testing.T) {
	t.Parallel()
	needBumps(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, "--workers", "1", "--sandbox-uids", "68420-68429")
	token := srv.adminToken()
	cl, _ := client.New(srv.URL, token, client.Options{})
	ctx := context.Background()
	j := submitSlowDREAM(t, cl)
	jobDir := filepath.Join(data, "jobs", fmt.Sprint(j.ID))
	chain := filepath.Join(jobDir, "output", "store", "slow-chain.mc.gz")
	// Killed once a whole state is kept (the executor packs one only when
	// every file of it is complete): killed as soon as the chain file
	// appeared, bumps may not yet have written the rest of that state, and
	// the fit then rightly starts afresh.
	testenv.Eventually(t, 120*time.Second, "a whole DREAM state kept", func() bool {
		_, err := os.Stat(filepath.Join(jobDir, service.BumpsStateFile))
		return err == nil && len(generations(chain)) > 0
	})
	srv.Cmd.Process.Signal(syscall.SIGKILL)
	<-srv.Ended
	atKill := len(generations(chain))
	// The state kept in the job's directory is packed by the server, so
	// it stays as it is until the next attempt runs, which replaces it
	// with its own states as it goes on.
	keptAtKill := sentGenerations(filepath.Join(jobDir, service.BumpsStateFile))

	srv = startServer(t, data, "--workers", "1", "--sandbox-uids", "68430-68439")
	cl, _ = client.New(srv.URL, token, client.Options{})
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	final, err := cl.Watch(wctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" || final.Attempt != 2 {
		t.Fatalf("bumps job after a kill: %v %s attempt %d (%s)", err, final.State, final.Attempt, final.Reason)
	}
	log, _ := os.ReadFile(filepath.Join(jobDir, "output", "job.log"))
	m := regexp.MustCompile(`resumed from checkpoint at step (\d+) \(bumps' DREAM state saved in (previous/attempt-1-\d+/store|` +
		regexp.QuoteMeta(service.BumpsStateFile) + `)`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("no resumed line in the job log:\n%s", log)
	}
	var step int
	fmt.Sscan(string(m[1]), &step)
	if from := string(m[2]); from == service.BumpsStateFile {
		// The new server killed the old bumps while it rewrote its
		// state in place: the store's state is cut, and the copy kept
		// in the job's directory is used, saying why.
		if !bytes.Contains(log, []byte("a saved state was not used: ")) {
			t.Errorf("resumed from %s without saying why not from the store:\n%s", from, log)
		}
		if step != keptAtKill {
			t.Errorf("resumed at generation %d; the state kept at the kill has %d", step, keptAtKill)
		}
	} else {
		// The killed server's bumps may have saved again before the new
		// server swept it.
		saved := generations(filepath.Join(jobDir, from, "slow-chain.mc.gz"))
		if step < atKill || step != len(saved) {
			t.Errorf("resumed at generation %d; %d were saved at the kill, %d in the state used", step, atKill, len(saved))
		}
	}
	wentOn(t, cl, jobDir, j.ID, step)
}

// A Bumps DREAM job on HTTP worker A sends each new state bumps saves to
// the controller; A is killed -9 after one, and worker B (another work
// directory, as another machine) takes the job up, fetches the state,
// gives it to bumps as --resume: its log says where it resumed, bumps
// says it loaded the state and goes on at the next generation, and the
// job ends COMPLETE.
func TestWorkerKill9ResumesBumpsDREAM(t *testing.T) {
	t.Parallel()
	needBumps(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, "--workers", "0", "--lease", "6s", "--sandbox-uids", "68750-68759")
	tok := workerToken(t, data, "farm")
	cl, _ := client.New(srv.URL, srv.adminToken(), client.Options{})
	ctx := context.Background()
	a := startWorker(t, srv.URL, tok, "A", 1)
	j := submitSlowDREAM(t, cl)
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
	wentOn(t, cl, jobDir, j.ID, step)
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

// submitSlowDREAM submits a bumps DREAM job on a model that burns 2 ms
// per evaluation, saving its state every second.
func submitSlowDREAM(t *testing.T, cl *client.Client) *client.Job {
	t.Helper()
	models := filepath.Join("..", "..", "internal", "service", "testdata", "bumps")
	j, err := cl.Submit(context.Background(), client.Submission{Service: "bumps",
		Spec: []byte(`{"model":"slow.py","fitter":"dream","options":{"samples":8000,"seed":1,"checkpoint_seconds":1}}`)},
		[]client.Upload{{Name: "slow.py", Path: filepath.Join(models, "slow.py")}, {Name: "linefn.py", Path: filepath.Join(models, "linefn.py")}})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// wentOn checks that bumps, resumed at generation step, says it loaded
// the state and that its first generation is the next one (its chain
// file keeps only the latest generations, so its head does not show the
// saved ones), and that the job has DREAM's statistics.
func wentOn(t *testing.T, cl *client.Client, jobDir string, id int64, step int) {
	t.Helper()
	mon, _ := os.ReadFile(filepath.Join(jobDir, "output", "store", "slow.mon"))
	first := regexp.MustCompile(`(?m)^step (\d+) `).FindSubmatch(mon)
	if !bytes.Contains(mon, []byte("loading saved state from")) || first == nil || string(first[1]) != fmt.Sprint(step+1) {
		t.Errorf("bumps' monitor of the resumed run does not go on at generation %d:\n%.2000s", step+1, mon)
	}
	if res, err := cl.Results(context.Background(), id); err != nil || !bytes.Contains(res, []byte(`"rhat"`)) {
		t.Errorf("results of the resumed bumps job: %v %s", err, res)
	}
}

// needBumps skips (fails under CI) without Debian's bumps.
func needBumps(t *testing.T) {
	t.Helper()
	_, err := os.Stat(service.DefaultBumpsPath)
	testenv.Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
}

// generations reads a bumps chain file's data lines; none if it is
// missing or not whole.
func generations(path string) [][]byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return gzipGenerations(f)
}

// gzipGenerations reads the data lines of a gzipped bumps chain file.
func gzipGenerations(r io.Reader) [][]byte {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil
	}
	var out [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if l := sc.Bytes(); len(l) > 0 && l[0] != '#' {
			out = append(out, bytes.Clone(l))
		}
	}
	if sc.Err() != nil {
		return nil
	}
	return out
}
