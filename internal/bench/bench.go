// Package bench measures the job controller end to end: zero-second
// sleep jobs submitted over real HTTP to a real controller with a real
// SQLite store, run by its slots, and reported as throughput and
// submit→start latency, beside baselines measured in the same run (plain
// HTTP round trips and single-row SQLite transactions on this machine),
// so numbers from different machines compare as ratios.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// Config says what to measure.
type Config struct {
	Jobs       int  // jobs to run
	Workers    int  // local slots
	Submitters int  // concurrent HTTP submitters
	FullSync   bool // synchronous=FULL
	// Remote runs the slots in a worker pool that speaks the worker
	// protocol over HTTP, instead of local slots inside the controller.
	Remote bool
	// Dir is where the run's data and work directories go (default the
	// system's temporary directory): its file system is often the limit.
	Dir string
}

// Report is what a run measured.
type Report struct {
	Jobs                 int
	Workers, Submitters  int
	Remote               bool
	Elapsed              time.Duration
	JobsPerSecond        float64
	SubmitPerSecond      float64
	StartLatencyP50      time.Duration
	StartLatencyP99      time.Duration
	EndToEndP50          time.Duration
	EndToEndP99          time.Duration
	BaselineHTTPPerSec   float64 // GET /healthz round trips
	BaselineInsertPerSec float64 // single-row SQLite transactions
	BaselineFilesPerSec  float64 // directory + file creations in the data dir's file system
}

// Run performs one measurement.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "bumpserve-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Jobs: cfg.Jobs, Workers: cfg.Workers, Submitters: cfg.Submitters, Remote: cfg.Remote}
	if rep.BaselineInsertPerSec, err = baselineInserts(ctx, filepath.Join(dir, "baseline.db"), cfg.FullSync); err != nil {
		return nil, err
	}
	if rep.BaselineFilesPerSec, err = baselineFiles(filepath.Join(dir, "baseline-files")); err != nil {
		return nil, err
	}

	local := cfg.Workers
	if cfg.Remote {
		local = 0
	}
	srv, err := serve(ctx, controller.Config{
		Data: filepath.Join(dir, "data"), Workers: local, FullSync: cfg.FullSync, Logger: quiet,
		Server: server.Config{MaxQueued: cfg.Jobs + 1, SubmitRate: 1e9},
	})
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	c, base := srv.c, srv.base

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Submitters * 2}}
	if rep.BaselineHTTPPerSec, err = baselineHTTP(ctx, hc, base, cfg.Submitters); err != nil {
		return nil, err
	}
	cl, err := client.New(base, srv.token, client.Options{HTTP: hc})
	if err != nil {
		return nil, err
	}
	if cfg.Remote {
		stopWorker, err := startRemote(srv.ctx, c, base, cfg.Workers, filepath.Join(dir, "worker"))
		if err != nil {
			return nil, err
		}
		defer stopWorker()
	}

	// Count finished jobs from the event broker rather than by polling,
	// which would load the server being measured.
	sub := c.Queue.Events.Subscribe(0, "")
	defer sub.Close()
	finished := map[int64]bool{}
	allDone := make(chan struct{})
	go func() {
		for range sub.Ready() {
			for _, j := range sub.Take() {
				if j.State.Terminal() {
					finished[j.ID] = true
				}

			}
			if len(finished) >= cfg.Jobs {
				close(allDone)
				return
			}
		}
	}()

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Submitters)
	for range cfg.Submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(cfg.Jobs) {
				if _, err := cl.Submit(ctx, client.Submission{Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`)}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	submitted := time.Since(start)
	select {
	case err := <-errs:
		return nil, fmt.Errorf("submit: %w", err)
	default:
	}
	select {
	case <-allDone:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Duration(cfg.Jobs)*10*time.Millisecond + time.Minute):
		counts, _ := c.Store.CountJobs(ctx, "")
		return nil, fmt.Errorf("jobs did not finish in time (jobs by state: %v)", counts)
	}
	rep.Elapsed = time.Since(start)
	rep.JobsPerSecond = float64(cfg.Jobs) / rep.Elapsed.Seconds()
	rep.SubmitPerSecond = float64(cfg.Jobs) / submitted.Seconds()
	return rep, latencies(ctx, c.Store, rep)
}

// latencies reads every job's times from the store.
func latencies(ctx context.Context, st store.JobStore, rep *Report) error {
	var startLat, endLat []time.Duration
	p := store.ListJobsParams{Limit: 1000}
	for {
		js, err := st.ListJobs(ctx, &p)
		if err != nil {
			return err
		}
		for _, j := range js {
			if j.State != job.Complete || j.Started == nil || j.Finished == nil {
				return fmt.Errorf("job %d ended %s: %s", j.ID, j.State, j.Reason)
			}
			startLat = append(startLat, j.Started.Sub(j.Submitted))
			endLat = append(endLat, j.Finished.Sub(j.Submitted))
		}
		if len(js) < p.Limit {
			break
		}
		p.BeforeID = js[len(js)-1].ID
	}
	rep.StartLatencyP50, rep.StartLatencyP99 = quantile(startLat, 0.5), quantile(startLat, 0.99)
	rep.EndToEndP50, rep.EndToEndP99 = quantile(endLat, 0.5), quantile(endLat, 0.99)
	return nil
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(int(q*float64(len(d))), len(d)-1)]
}

// baselineInserts measures single-row insert transactions per second on
// a fresh store: the cost floor of one durable transition.
func baselineInserts(ctx context.Context, path string, full bool) (float64, error) {
	st, err := sqlite.Open(ctx, path, sqlite.Options{FullSync: full})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	const n = 2000
	start := time.Now()
	for range n {
		if _, err := st.CreateJob(ctx, &store.CreateJobParams{Owner: "b", Service: "sleep", Now: time.Now()}); err != nil {
			return 0, err
		}
	}
	return n / time.Since(start).Seconds(), nil
}

// baselineFiles measures how many directories-with-one-file this file
// system creates per second: every job makes its directory, output/, a
// log and its result files, so this bounds the job rate.
func baselineFiles(dir string) (float64, error) {
	const n = 1000
	start := time.Now()
	for i := range n {
		d := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o644); err != nil {
			return 0, err
		}
	}
	return n / time.Since(start).Seconds(), nil
}

// baselineHTTP measures authenticated-route-free round trips per second
// (GET /healthz, one store read each) for one second.
func baselineHTTP(ctx context.Context, hc *http.Client, base string, conc int) (float64, error) {
	var n atomic.Int64
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				resp, err := hc.Get(base + "/healthz")
				if err != nil {
					firstErr.Store(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n.Load()), nil
}

// Print writes a report as a short table with ratios to the baselines.
func (r *Report) Print(w io.Writer) {
	where := "local slots"
	if r.Remote {
		where = "slots of an HTTP worker"
	}
	fmt.Fprintf(w, "%d zero-second sleep jobs, %d %s, %d HTTP submitters\n", r.Jobs, r.Workers, where, r.Submitters)
	fmt.Fprintf(w, "  submit→complete throughput  %8.0f jobs/s  (%.2f × dir+file creations/s, %.2f × SQLite insert tx/s, %.2f × HTTP round trips/s)\n",
		r.JobsPerSecond, r.JobsPerSecond/r.BaselineFilesPerSec, r.JobsPerSecond/r.BaselineInsertPerSec, r.JobsPerSecond/r.BaselineHTTPPerSec)
	fmt.Fprintf(w, "  submissions accepted        %8.0f jobs/s\n", r.SubmitPerSecond)
	fmt.Fprintf(w, "  submit→start latency        p50 %v  p99 %v\n", r.StartLatencyP50.Round(time.Microsecond), r.StartLatencyP99.Round(time.Microsecond))
	fmt.Fprintf(w, "  submit→finish latency       p50 %v  p99 %v\n", r.EndToEndP50.Round(time.Microsecond), r.EndToEndP99.Round(time.Microsecond))
	fmt.Fprintf(w, "  baselines: directory+file creations %0.f/s; SQLite single-row insert %0.f tx/s; GET /healthz %0.f req/s\n",
		r.BaselineFilesPerSec, r.BaselineInsertPerSec, r.BaselineHTTPPerSec)
}
