package main

import (
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
	_, err := os.Stat(service.DefaultBumpsPath)
	testenv.Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, "--workers", "1", "--sandbox-uids", "68420-68429")
	token := srv.adminToken()
	cl, _ := client.New(srv.URL, token, client.Options{})
	ctx := context.Background()
	models := filepath.Join("..", "..", "internal", "service", "testdata", "bumps")
	j, err := cl.Submit(ctx, client.Submission{Service: "bumps",
		Spec: []byte(`{"model":"slow.py","fitter":"dream","options":{"samples":8000,"seed":1,"checkpoint_seconds":1}}`)},
		[]client.Upload{{Name: "slow.py", Path: filepath.Join(models, "slow.py")}, {Name: "linefn.py", Path: filepath.Join(models, "linefn.py")}})
	if err != nil {
		t.Fatal(err)
	}
	jobDir := filepath.Join(data, "jobs", fmt.Sprint(j.ID))
	chain := filepath.Join(jobDir, "output", "store", "slow-chain.mc.gz")
	testenv.Eventually(t, 120*time.Second, "bumps saves its DREAM state", func() bool { return len(generations(chain)) > 0 })
	srv.Cmd.Process.Signal(syscall.SIGKILL)
	<-srv.Ended
	atKill := len(generations(chain))

	srv = startServer(t, data, "--workers", "1", "--sandbox-uids", "68430-68439")
	cl, _ = client.New(srv.URL, token, client.Options{})
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	final, err := cl.Watch(wctx, j.ID, func(*client.Job) error { return nil })
	if err != nil || final.State != "COMPLETE" || final.Attempt != 2 {
		t.Fatalf("bumps job after a kill: %v %s attempt %d (%s)", err, final.State, final.Attempt, final.Reason)
	}
	log, _ := os.ReadFile(filepath.Join(jobDir, "output", "job.log"))
	m := regexp.MustCompile(`resumed from checkpoint at step (\d+) \(bumps' DREAM state saved in (previous/attempt-1-\d+/store)`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("no resumed line in the job log:\n%s", log)
	}
	var step int
	fmt.Sscan(string(m[1]), &step)
	// The killed server's bumps may have saved again before the new
	// server swept it.
	saved := generations(filepath.Join(jobDir, string(m[2]), "slow-chain.mc.gz"))
	if step < atKill || step != len(saved) {
		t.Errorf("resumed at generation %d; %d were saved at the kill, %d in the state used", step, atKill, len(saved))
	}
	// Bumps says it loaded the state, and its first generation is the
	// next one (its chain file keeps only the latest generations, so its
	// head does not show the saved ones).
	mon, _ := os.ReadFile(filepath.Join(jobDir, "output", "store", "slow.mon"))
	first := regexp.MustCompile(`(?m)^step (\d+) `).FindSubmatch(mon)
	if !bytes.Contains(mon, []byte("loading saved state from")) || first == nil || string(first[1]) != fmt.Sprint(step+1) {
		t.Errorf("bumps' monitor of the resumed run does not go on at generation %d:\n%.2000s", step+1, mon)
	}
	if res, err := cl.Results(ctx, j.ID); err != nil || !bytes.Contains(res, []byte(`"rhat"`)) {
		t.Errorf("results of the resumed bumps job: %v %s", err, res)
	}
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
