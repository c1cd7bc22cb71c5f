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
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
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
	// Prefill puts this many finished jobs in the store before the run.
	Prefill int
	// FilesPerJob is how many more small output files each job writes.
	FilesPerJob int
	// Batch, if not 0, runs Jobs more jobs submitted Batch per request,
	// after the headline run of one job per request.
	Batch int
	// Store, if set, is a postgres:// URL: the controller then keeps its
	// jobs in a scratch database created on that server for the run
	// (its role needs CREATEDB) instead of SQLite in the data directory.
	Store string
	// Controllers, with Store, runs this many controllers on the one
	// database and data directory, each with Workers local slots; the
	// bench submits to the first (default 1).
	Controllers int
}

// Phase is what one way of submitting measured.
type Phase struct {
	JobsPerSecond   float64
	SubmitPerSecond float64
	StartLatencyP50 time.Duration
	StartLatencyP99 time.Duration
	EndToEndP50     time.Duration
	EndToEndP99     time.Duration
	// CPUPerJob is this process's CPU time (controller, slots and the
	// bench's own clients) per job.
	CPUPerJob  time.Duration
	PeakQueued int // most jobs PENDING at once (sampled)
	// WritesPerCommit is how many store writes shared a commit, on
	// average (0 if the store does not say).
	WritesPerCommit float64
}

// writeStats is what the SQLite store tells of its group commit.
type writeStats interface {
	WriteStats() (commits, writes int64)
}

func commitStats(st any) (commits, writes int64) {
	if ws, ok := st.(writeStats); ok {
		return ws.WriteStats()
	}
	return 0, 0
}

// Report is what a run measured.
type Report struct {
	Config
	Elapsed time.Duration
	Phase   // the headline: one job per request
	// BatchPhase is the batch submission's, if Config.Batch was set.
	BatchPhase           *Phase
	BaselineHTTPPerSec   float64 // GET /healthz round trips
	BaselinePostPerSec   float64 // bare net/http POST decoding a small JSON body
	BaselineInsertPerSec float64 // single-row SQLite transactions
	// BaselinePostgresInsertPerSec is single-row transactions through the
	// PostgreSQL store, when Config.Store is set (else 0).
	BaselinePostgresInsertPerSec float64
	BaselineFilesPerSec          float64 // directory + file creations in the data dir's file system
}

// Run performs one measurement.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "bumpserve-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Config: cfg}
	if rep.BaselineInsertPerSec, err = baselineInserts(ctx, filepath.Join(dir, "baseline.db"), cfg.FullSync); err != nil {
		return nil, err
	}
	if rep.BaselineFilesPerSec, err = baselineFiles(filepath.Join(dir, "baseline-files")); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	storeURL := ""
	if cfg.Store != "" {
		if rep.BaselinePostgresInsertPerSec, err = baselinePostgresInserts(ctx, cfg.Store); err != nil {
			return nil, err
		}
		var drop func()
		if storeURL, drop, err = scratchDatabase(ctx, cfg.Store); err != nil {
			return nil, err
		}
		defer drop()
	}
	var floor int64 // the ids of prefilled jobs are at or below it
	if cfg.Prefill > 0 {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		if floor, err = prefillData(ctx, data, storeURL, cfg); err != nil {
			return nil, fmt.Errorf("prefill: %w", err)
		}
	}

	local := cfg.Workers
	if cfg.Remote {
		local = 0
	}
	srv, err := serve(ctx, controller.Config{
		Data: data, Store: storeURL, Workers: local, FullSync: cfg.FullSync, Logger: quiet,
		Server: server.Config{MaxQueued: cfg.Jobs + 1, SubmitRate: 1e9},
	})
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	c, base := srv.c, srv.base
	for i := 1; i < cfg.Controllers && storeURL != ""; i++ {
		other, err := controller.Open(ctx, controller.Config{Data: data, Store: storeURL, Workers: local,
			Name: fmt.Sprintf("local@bench-%d", i), Logger: quiet})
		if err != nil {
			return nil, err
		}
		defer other.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); other.Serve(runCtx, ln, "", "") }()
		defer func() { stop(); <-done }()
	}

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Submitters * 2}}
	if rep.BaselineHTTPPerSec, err = baselineHealthz(hc, base, cfg.Submitters); err != nil {
		return nil, err
	}
	if rep.BaselinePostPerSec, err = baselinePost(ctx, hc, cfg.Submitters); err != nil {
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
	m := &measurer{cfg: cfg, c: c, cl: cl, owner: srv.owner}
	doc := json.RawMessage(sleepSubmission(cfg.FilesPerJob))
	var sub client.Submission
	if err := json.Unmarshal(doc, &sub); err != nil {
		return nil, err
	}
	start := time.Now()
	ph, last, err := m.phase(ctx, floor, 1, func(ctx context.Context, n int) error {
		_, err := cl.Submit(ctx, sub, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	rep.Elapsed, rep.Phase = time.Since(start), *ph
	if cfg.Batch > 0 {
		rep.BatchPhase, _, err = m.phase(ctx, last, cfg.Batch, func(ctx context.Context, n int) error {
			subs := make([]client.Submission, n)
			for i := range subs {
				subs[i] = sub
			}
			_, err := cl.SubmitAll(ctx, subs)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
	}
	return rep, nil
}

// measurer runs the phases of one run.
type measurer struct {
	cfg   Config
	c     *controller.Controller
	cl    *client.Client
	owner string // the submitting user
}

// phase submits cfg.Jobs jobs, per requests of up to per jobs each with
// submit, waits for all to end, and reads their times from the store:
// the jobs are those with ids above floor. It returns the highest id.
func (m *measurer) phase(ctx context.Context, floor int64, per int, submit func(ctx context.Context, n int) error) (*Phase, int64, error) {
	n := m.cfg.Jobs
	// Count finished jobs from the event broker rather than by polling,
	// which would load the server being measured.
	sub := m.c.Queue.Events.Subscribe(0, "")
	defer sub.Close()
	finished := map[int64]bool{}
	allDone := make(chan struct{})
	go func() {
		for range sub.Ready() {
			for _, j := range sub.Take() {
				if j.State.Terminal() && j.ID > floor {
					finished[j.ID] = true
				}
			}
			if len(finished) >= n {
				close(allDone)
				return
			}
		}
	}()
	peak := make(chan int, 1)
	stopSampling := make(chan struct{})
	go func() { peak <- m.samplePeak(ctx, stopSampling) }()

	cpu0 := cpuTime()
	commits0, writes0 := commitStats(m.c.Store)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, m.cfg.Submitters)
	for range m.cfg.Submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				end := next.Add(int64(per))
				k := min(int64(per), int64(n)-(end-int64(per)))
				if k <= 0 {
					return
				}
				if err := submit(ctx, int(k)); err != nil {
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
		close(stopSampling)
		return nil, 0, fmt.Errorf("submit: %w", err)
	default:
	}
	select {
	case <-allDone:
	case <-ctx.Done():
		close(stopSampling)
		return nil, 0, ctx.Err()
	case <-time.After(time.Duration(n)*10*time.Millisecond + time.Minute):
		close(stopSampling)
		counts, _ := m.c.Store.CountJobs(ctx, "")
		return nil, 0, fmt.Errorf("jobs did not finish in time (jobs by state: %v)", counts)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	commits1, writes1 := commitStats(m.c.Store)
	close(stopSampling)
	ph := &Phase{JobsPerSecond: float64(n) / elapsed.Seconds(), SubmitPerSecond: float64(n) / submitted.Seconds(),
		CPUPerJob: cpu / time.Duration(n), PeakQueued: <-peak}
	if commits1 > commits0 {
		ph.WritesPerCommit = float64(writes1-writes0) / float64(commits1-commits0)
	}
	last, err := latencies(ctx, m.c.Store, floor, ph)
	return ph, last, err
}

// samplePeak reads the submitter's queue length every 10 ms (one small
// row) until stop, and returns the largest seen.
func (m *measurer) samplePeak(ctx context.Context, stop <-chan struct{}) int {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	peak := 0
	for {
		select {
		case <-stop:
			return peak
		case <-tick.C:
			if n, err := m.c.Store.CountQueued(ctx, m.owner); err == nil {
				peak = max(peak, n)
			}
		}
	}
}

// cpuTime is this process's CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// latencies reads the times of every job above floor from the store and
// returns the highest id.
func latencies(ctx context.Context, st store.JobStore, floor int64, ph *Phase) (int64, error) {
	var startLat, endLat []time.Duration
	var last int64
	p := store.ListJobsParams{Limit: 1000}
	for {
		js, err := st.ListJobs(ctx, &p)
		if err != nil {
			return 0, err
		}
		for _, j := range js {
			if j.ID <= floor {
				break
			}
			last = max(last, j.ID)
			if j.State != job.Complete || j.Started == nil || j.Finished == nil {
				return 0, fmt.Errorf("job %d ended %s: %s", j.ID, j.State, j.Reason)
			}
			startLat = append(startLat, j.Started.Sub(j.Submitted))
			endLat = append(endLat, j.Finished.Sub(j.Submitted))
		}
		if len(js) < p.Limit || js[len(js)-1].ID <= floor {
			break
		}
		p.BeforeID = js[len(js)-1].ID
	}
	ph.StartLatencyP50, ph.StartLatencyP99 = quantile(startLat, 0.5), quantile(startLat, 0.99)
	ph.EndToEndP50, ph.EndToEndP99 = quantile(endLat, 0.5), quantile(endLat, 0.99)
	return last, nil
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(int(q*float64(len(d))), len(d)-1)]
}
