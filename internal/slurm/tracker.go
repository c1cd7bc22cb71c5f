package slurm

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// tracker watches every Slurm job an executor has submitted with ONE
// squeue call per cycle, however many there are: per-job polling would
// load slurmctld in proportion to the queue, which sites forbid.
type tracker struct {
	e      *Executor
	mu     sync.Mutex
	jobs   map[string]*tracked
	active bool // the loop goroutine runs
	cycles atomic.Int64
	widest atomic.Int64 // the most jobs one squeue call asked about
	// away, when set, names jobs the tracker must not look at: tests use
	// it to stand for a controller that was down while Slurm forgot a job.
	away func(slurmID string) bool
}

// tracked is one watched Slurm job.
type tracked struct {
	id       string
	dir      string
	progress func(job.Progress)
	// state, when the executor sends a fit's saved states on (an HTTP
	// worker's Env.Checkpointed), names the file run-job keeps it in and
	// takes each new one.
	state stateWatch
	// ended receives once, when the job leaves Slurm's active states: its
	// last status, or nil when squeue no longer lists it.
	ended chan *status
	// running is closed when Slurm first reports the job RUNNING.
	running     chan struct{}
	seenRunning bool
	progSeen    seen // the progress file as last forwarded
}

// watch starts tracking Slurm job id, whose job directory is dir.
func (t *tracker) watch(id, dir string, progress func(job.Progress), state stateWatch) *tracked {
	tj := &tracked{id: id, dir: dir, progress: progress, state: state, ended: make(chan *status, 1), running: make(chan struct{})}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.jobs == nil {
		t.jobs = map[string]*tracked{}
	}
	t.jobs[id] = tj
	if !t.active {
		t.active = true
		go t.loop()
	}
	return tj
}

// forget stops tracking id (its Execute returned).
func (t *tracker) forget(id string) {
	t.mu.Lock()
	delete(t.jobs, id)
	t.mu.Unlock()
}

// loop polls while there are jobs to watch, then exits; the next watch
// starts it again, so an idle executor costs nothing.
func (t *tracker) loop() {
	tick := time.NewTicker(t.e.cfg.Poll)
	defer tick.Stop()
	for range tick.C {
		t.mu.Lock()
		if len(t.jobs) == 0 {
			t.active = false
			t.mu.Unlock()
			return
		}
		snap := make([]*tracked, 0, len(t.jobs))
		for _, tj := range t.jobs {
			if t.away == nil || !t.away(tj.id) {
				snap = append(snap, tj)
			}
		}
		t.mu.Unlock()
		if len(snap) > 0 {
			// A panic (reading a job's progress, say) costs one cycle,
			// not the process that runs every job.
			guard.Call(t.e.log, "slurm tracker", func() error { t.cycle(snap); return nil })
		}
	}
}

// cycle asks squeue about every job in snap at once and hands on what it
// learned.
func (t *tracker) cycle(snap []*tracked) {
	t.cycles.Add(1)
	if n := int64(len(snap)); n > t.widest.Load() {
		t.widest.Store(n) // only this goroutine writes it
	}
	ids := make([]string, len(snap))
	for i, tj := range snap {
		ids[i] = tj.id
	}
	// -t all: finished jobs stay listed, with their final state, for as
	// long as slurmctld remembers them (MinJobAge).
	out, err := t.e.run.squeue(context.Background(), "-h", "-t", "all", "-o", "%i|%T|%r", "-j", strings.Join(ids, ","))
	if err != nil && !errors.Is(err, errUnknownJob) {
		// slurmctld down or slow: that says nothing about the jobs, so
		// none is declared ended; the next cycle asks again.
		t.e.log.Warn("squeue failed; will retry", "err", err)
		return
	}
	seen := map[string]*status{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 3)
		if len(f) == 3 {
			seen[f[0]] = &status{State: f[1], Reason: f[2]}
		}
	}
	for _, tj := range snap {
		if t.isAway(tj.id) {
			continue // set while squeue ran: this answer is not to be seen either
		}
		st, ok := seen[tj.id]
		if ok && active(st.State) {
			if st.State == "RUNNING" && !tj.seenRunning {
				tj.seenRunning = true
				close(tj.running)
			}
			tj.readProgress()
			tj.state.read(tj.dir)
			continue
		}
		tj.readProgress() // the last word before the end
		tj.state.read(tj.dir)
		t.forget(tj.id)
		tj.ended <- st // nil when squeue has forgotten it
	}
}

// isAway says whether a test has hidden job id from the tracker (away).
func (t *tracker) isAway(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.away != nil && t.away(id)
}

// readProgress forwards the job's progress file when it changed. The job
// writes it by rename, so a read never sees half of it.
func (tj *tracked) readProgress() {
	fi, ok := tj.progSeen.changed(tj.dir, progressFile)
	if !ok {
		return
	}
	tj.progSeen.take(fi)
	var p job.Progress
	if jobdir.ReadJSON(filepath.Join(tj.dir, progressFile), &p) == nil {
		tj.progress(p)
	}
}
