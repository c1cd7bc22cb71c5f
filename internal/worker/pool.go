// Package worker runs jobs in slots: it claims as many jobs as it has free
// CPUs, runs each under its service, renews all their leases in one
// heartbeat that carries progress, stops a job when it is cancelled or
// passes its wall limit, and reports ends in batches that bring the next
// jobs. It speaks only the lease protocol (lease.Source): inside the
// server through queue.LocalSource, and in `bumpserve worker` over HTTP
// through RemoteSource, which knows only the client.
package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
	"github.com/bumpserve/bumpserve/internal/service"
)

// DrainDefault is how long running jobs get to finish at shutdown before
// they are handed back.
const DrainDefault = 30 * time.Second

// Config configures a Pool.
type Config struct {
	Name  string
	Slots int // CPUs this pool may fill; default runtime.NumCPU()
	// MaxJobs, if positive, also caps the jobs running at once (a job
	// of N CPUs takes N slots but counts one job here): for example the
	// jobs a site lets one account keep in its batch system.
	MaxJobs  int
	Source   lease.Source
	Services service.Registry
	Caps     job.Limits // the server's limits; a spec may only lower them
	// Runner runs the jobs' child processes (the sandbox); nil runs them
	// with process-group control only.
	Runner service.Runner
	// Executor, if set, runs each job's service somewhere else (a batch
	// system such as Slurm) instead of in this process; the pool still
	// holds the lease, heartbeats, enforces the wall limit and reports.
	Executor Executor
	// Drain is how long running jobs may go on after Run's context ends
	// before they are stopped and handed back.
	Drain  time.Duration
	Logger *slog.Logger
}

// Executor runs a job's service on behalf of a pool. It must return when
// ctx ends (cancel, wall limit, drain), having stopped the job.
type Executor interface {
	Execute(ctx context.Context, svc service.Service, env *service.Env) (json.RawMessage, error)
}

// runService runs the job's service (through the Executor, if any). The
// native fit runs in this process: a panic in it ends this job with
// guard.ErrInternal, not the worker with every other job.
func (p *Pool) runService(ctx context.Context, svc service.Service, env *service.Env) (result json.RawMessage, err error) {
	err = guard.Call(p.log.With("job", env.Job.ID), "service "+svc.Name(), func() error {
		if p.cfg.Executor != nil {
			result, err = p.cfg.Executor.Execute(ctx, svc, env)
		} else {
			result, err = svc.Run(ctx, env)
		}
		return err
	})
	return result, err
}

// Pool runs jobs in a fixed number of CPU slots.
type Pool struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	free  int           // CPUs
	jobs  int           // jobs running
	freed chan struct{} // signalled when slots come free
	wg    sync.WaitGroup
	// draining is set once Run stops claiming: completions then ask for
	// no follow-on jobs.
	draining atomic.Bool
	resumed  sync.Map // job id → jobdir.Dir of a job taken up again (Resume)
	// stop ends every run (with the cause errDrained) once draining times out.
	stop     context.Context
	stopRuns context.CancelCauseFunc
	// The pool's two protocol loops: one heartbeat for every running
	// job, and ends reported in batches (see completer).
	beats     heartbeats
	ends      chan *ending
	loops     sync.Once
	stopLoops context.CancelFunc
	loopsDone sync.WaitGroup
}

// NewPool checks cfg and returns a pool.
func NewPool(cfg Config) (*Pool, error) {
	if cfg.Source == nil {
		return nil, errors.New("worker: Config.Source is required")
	}
	if cfg.Slots < 0 || cfg.MaxJobs < 0 {
		return nil, errors.New("worker: Config.Slots and Config.MaxJobs must not be negative")
	}
	cfg.Slots = cmp.Or(cfg.Slots, runtime.NumCPU())
	cfg.Caps = cmp.Or(cfg.Caps, job.DefaultCaps)
	cfg.Drain = cmp.Or(cfg.Drain, DrainDefault)
	stop, stopRuns := context.WithCancelCause(context.Background())
	return &Pool{
		cfg: cfg, free: cfg.Slots, freed: make(chan struct{}, 1),
		log:  cmp.Or(cfg.Logger, slog.Default()).With("component", "worker", "worker", cfg.Name),
		stop: stop, stopRuns: stopRuns,
		beats: heartbeats{src: cfg.Source}, ends: make(chan *ending),
	}, nil
}

// startLoops starts the heartbeat and completion loops once; Run stops
// them after its drain.
func (p *Pool) startLoops() {
	p.loops.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		p.stopLoops = cancel
		p.loopsDone.Add(2)
		go func() {
			defer p.loopsDone.Done()
			guard.Loop(ctx, p.log, "heartbeats", p.beats.loop)
		}()
		go func() {
			defer p.loopsDone.Done()
			guard.Loop(ctx, p.log, "completions", p.completer)
		}()
	})
}

// Slots is the pool's size in CPUs.
func (p *Pool) Slots() int { return p.cfg.Slots }

// Running is how many CPUs are busy.
func (p *Pool) Running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Slots - p.free
}

// Run claims and runs jobs until ctx ends, then drains: running jobs get
// Config.Drain to finish, after which they are stopped and handed back.
func (p *Pool) Run(ctx context.Context) error {
	// Completions stop asking for follow-on jobs as soon as ctx ends,
	// not only once the claim loop has noticed.
	stopAfter := context.AfterFunc(ctx, func() { p.draining.Store(true) })
	defer stopAfter()
	p.startLoops()
	defer func() { p.stopLoops(); p.loopsDone.Wait() }()
	for ctx.Err() == nil {
		free, maxJobs := p.capacity()
		if free <= 0 || maxJobs <= 0 { // resumed jobs may hold more than the slots
			select {
			case <-p.freed:
			case <-ctx.Done():
			}
			continue
		}
		var jobs []*job.Job
		err := guard.Call(p.log, "claim", func() (err error) {
			jobs, err = p.cfg.Source.Claim(ctx, lease.Want{CPUs: free, Jobs: maxJobs}, p.freed)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.log.Error("claim", "err", err)
			select { // back off; the source may be briefly unavailable
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			continue
		}
		for _, j := range jobs {
			p.start(j)
		}
	}
	p.draining.Store(true)
	return p.drain()
}

// Resume takes up a job that this pool's executor held before a restart
// and that goes on without it (a batch system's job): it takes the job's
// CPUs and runs it in its existing directory dir, where the Executor
// finds the earlier attempt's state and follows it rather than start
// anew. Call it before Run; j must hold a live lease.
func (p *Pool) Resume(j *job.Job, dir jobdir.Dir) {
	p.startLoops()
	p.resumed.Store(j.ID, dir)
	p.start(j)
}

// start takes j's CPUs and runs it, and the jobs that follow it there.
func (p *Pool) start(j *job.Job) {
	p.take(j.CPUs)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.runChain(j)
	}()
}

// runChain runs j on the CPUs it took, then each job that a completion
// brought for those CPUs, until one brings none; then it gives the CPUs
// back. A busy pool thus needs no claim between jobs.
func (p *Pool) runChain(j *job.Job) {
	for j != nil {
		held := j.CPUs
		var next *job.Job
		// A panic delivering the result must not cost the slot; the
		// job's lease then runs out and puts it back in the queue.
		guard.Call(p.log.With("job", j.ID), "job run", func() error { next = p.run(j); return nil })
		if next == nil {
			p.give(held)
			return
		}
		p.shrink(held, next.CPUs)
		j = next
	}
}

func (p *Pool) drain() error {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	timer := time.NewTimer(p.cfg.Drain)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		p.log.Info("drain timed out; handing running jobs back")
		p.stopRuns(errDrained)
		<-done
		return nil
	}
}

// capacity says how many CPUs are free and how many more jobs may start.
func (p *Pool) capacity() (cpus, jobs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.MaxJobs == 0 {
		return p.free, p.free // a job takes at least one CPU
	}
	return p.free, min(p.free, p.cfg.MaxJobs-p.jobs)
}

func (p *Pool) take(n int) {
	p.mu.Lock()
	p.free -= n
	p.jobs++
	p.mu.Unlock()
}

// shrink keeps a slot's job count as a follow-on job of next CPUs
// replaces one of held, giving back the difference.
func (p *Pool) shrink(held, next int) {
	if held > next {
		p.release(held-next, 0)
	}
}

// give returns the CPUs of a job that has ended.
func (p *Pool) give(n int) { p.release(n, 1) }

// release returns cpus and ends jobs, and tells the claim loop.
func (p *Pool) release(cpus, jobs int) {
	p.mu.Lock()
	p.free += cpus
	p.jobs -= jobs
	p.mu.Unlock()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}
