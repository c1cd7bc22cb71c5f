// Package controller assembles a running job controller from its parts:
// the SQLite store in the data directory, the job directories, the queue
// and its reaper, the HTTP server, and the local worker slots. It also
// does the start-up duties: creating the first admin, sweeping processes
// a crashed predecessor left, and requeueing its jobs.
package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/lograte"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/retention"
	"github.com/bumpserve/bumpserve/internal/series"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/web"
	"github.com/bumpserve/bumpserve/internal/worker"
)

// Config configures a controller. Zero values take the defaults.
type Config struct {
	Data     string        // data directory (database, job files, admin.token)
	Store    string        // store URL: "" = SQLite in Data; postgres://… (see OpenStore)
	Workers  int           // local CPU slots; 0 = none (dispatch only); -1 = number of CPUs
	Name     string        // the local slots' worker name; default "local@HOST"
	Lease    time.Duration // how long a claim lasts without a heartbeat
	Drain    time.Duration // how long running jobs may finish at shutdown
	FullSync bool          // synchronous=FULL: durable across power loss
	// Fair share: usage half-life (default a day) and a cap on one user's
	// running jobs (0: none).
	HalfLife   time.Duration
	MaxRunning int
	Caps       job.Limits
	Server     server.Config // limits for the API; store, queue and the like are filled in
	Logger     *slog.Logger
	// Runner confines the local slots' job processes (a sandbox, through package confine);
	// nil runs them with process-group control only.
	Runner service.Runner
	// Executor, if set, runs the slots' jobs elsewhere (Slurm) instead of
	// in this process; Workers is then the cap on CPUs handed to it at once.
	Executor worker.Executor
	// MaxJobs, if positive, caps the local slots' (or the Executor's)
	// jobs at once, beside the cap on CPUs.
	MaxJobs int
	// Timeouts bound slow and idle clients (zero fields: the defaults).
	Timeouts server.Timeouts
	// Now is the queue's clock (time.Now by default): tests move it to
	// end leases without waiting for them.
	Now func() time.Time
	// Notify, if set, hears the controller's state for the service
	// manager: "READY=1" once it serves, "STOPPING=1" when it drains.
	Notify func(state string)
	// Front places the controller behind a reverse proxy: base path,
	// trusted proxies, the site's login (remote-user header).
	Front server.Front
	// Notifications configures the messages sent when jobs end (package
	// notify); Store, Ended and Logger are filled in, Webhooks defaults
	// to https receivers on public addresses. Server.EmailEnabled follows
	// Notifications.Mailer.
	Notifications notify.Config
	// ExtraServices are registered beside the built-in ones, for tests
	// (a service that panics, say); `serve` never sets it.
	ExtraServices []service.Service
	// Retain is how long finished jobs of each state are kept (none
	// named: for ever); the cleaner that deletes them also measures
	// finished jobs' directories for the disk quota (Server.UserDiskMB).
	// RetainInterval is the time between its passes (a minute by
	// default; tests shorten it).
	Retain         retention.Policy
	RetainInterval time.Duration
}

// DrainDefault is how long running jobs get to finish at shutdown before
// they are handed back.
const DrainDefault = worker.DrainDefault

// Controller is an assembled, not yet running, job controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	Store  store.Store
	Root   *jobdir.Root
	Queue  *queue.Queue
	Server *server.Server
	// Handler is everything served over HTTP: "/" redirects to the pages,
	// /ui/ is the pages (package web), the rest is the API server; all of
	// it under the base path, behind the front door (server.Front).
	Handler http.Handler
	Pool    *worker.Pool // nil with no local slots
	// Cleaner deletes finished jobs past their age and measures the
	// others (package retention).
	Cleaner *retention.Cleaner
	// Notifier sends the notifications of ended jobs while Serve runs.
	Notifier *notify.Notifier
}

// Open builds a controller over cfg.Data.
func Open(ctx context.Context, cfg Config) (*Controller, error) {
	// A failure that repeats (every retry against a full disk) is logged
	// once a minute, with a count, not thousands of times a second.
	log := slog.New(lograte.New(cmp.Or(cfg.Logger, slog.Default()).Handler(), lograte.EveryDefault))
	if cfg.Data == "" {
		return nil, errors.New("data: missing (the data directory)")
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = "local@" + cmp.Or(host, "localhost")
	}
	cfg.Drain = cmp.Or(cfg.Drain, DrainDefault)
	if err := cfg.Front.Check(); err != nil {
		return nil, err
	}
	disk := diskspace.Open(cfg.Data, diskspace.ReserveDefault, log)
	st, err := OpenStore(ctx, cfg.Data, cfg.Store, StoreOptions{FullSync: cfg.FullSync,
		OnWriteError: func(err error) { disk.Full(err) }, Logger: log})
	if err != nil {
		return nil, err
	}
	root, err := jobdir.Open(cfg.Data, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	c := &Controller{cfg: cfg, log: log.With("component", "controller"), Store: st, Root: root}
	c.Queue = queue.New(queue.Config{Store: st, Lease: cfg.Lease, Now: cfg.Now, Logger: log, HalfLife: cfg.HalfLife, MaxRunning: cfg.MaxRunning, Disk: disk})
	services := service.Builtin()
	for _, svc := range cfg.ExtraServices {
		services[svc.Name()] = svc
	}
	c.Cleaner = retention.New(retention.Config{Store: st, Policy: cfg.Retain, Now: cfg.Now, Interval: cfg.RetainInterval, Logger: log,
		// Deletes go the way a user's do (Server.DeleteJob), set once the server exists.
		Delete: func(ctx context.Context, id int64) error { return c.Server.DeleteJob(ctx, id) },
		Size:   func(id int64) (int64, error) { return root.Job(id).Size() },
	})
	nc := cfg.Notifications
	nc.Store, nc.Ended, nc.Logger = st, c.Queue.Events.Ended(), log
	if nc.Webhooks == nil {
		nc.Webhooks = notify.NewWebhooks(notify.WebhookConfig{})
	}
	c.Notifier = notify.New(nc)
	sc := cfg.Server
	sc.EmailEnabled = nc.Mailer != nil
	sc.Store, sc.Queue, sc.Root, sc.Services, sc.Caps, sc.Logger, sc.Disk = st, c.Queue, root, services, cfg.Caps, log, disk
	sc.Collectors = append(sc.Collectors, c.Cleaner.Collectors()...)
	if c.Server, err = server.New(sc); err != nil {
		st.Close()
		return nil, err
	}
	if n, err := server.SweepOrphans(ctx, root, st, time.Now()); err != nil {
		log.Warn("sweep job dirs without a job", "err", err)
	} else if n > 0 {
		log.Info("removed job dirs without a job", "count", n)
	}
	if cfg.Workers != 0 {
		c.Pool, err = worker.NewPool(worker.Config{
			Name: cfg.Name, Slots: max(cfg.Workers, 0), MaxJobs: cfg.MaxJobs, Services: services, Caps: cfg.Caps, Drain: cfg.Drain, Logger: log,
			Runner: cfg.Runner, Executor: cfg.Executor, Source: &queue.LocalSource{Queue: c.Queue, Root: root, Name: cfg.Name,
				Services: services.Names()}, // never the services only old workers run
		})
		if err != nil {
			st.Close()
			return nil, err
		}
		pool := c.Pool
		c.Server.SetLocal(func() *server.WorkerInfo {
			return &server.WorkerInfo{Name: cfg.Name, User: "(local)", Slots: pool.Slots(), LastHeartbeat: time.Now().UTC(), Local: true}
		})
	}
	if err := c.mountWeb(filepath.Join(cfg.Data, "session.key"), services.Names()); err != nil {
		st.Close()
		return nil, err
	}
	return c, nil
}

// mountWeb builds the pages and the top-level routes around the API.
func (c *Controller) mountWeb(keyFile string, services []string) error {
	slots := 0
	if c.Pool != nil {
		slots = c.Pool.Slots()
	}
	ui, err := web.New(web.Config{
		API: c.Server, Queue: c.Queue, Root: c.Root, Services: services,
		SecretFile: keyFile, LocalName: c.cfg.Name, LocalSlots: slots,
		MaxUpload: c.cfg.Server.MaxUpload, BasePath: c.cfg.Front.BasePath, Logger: c.log,
		Workers: c.Server.Workers,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/jobs", http.StatusSeeOther))
	mux.Handle("/ui/", ui)
	mux.Handle("/", c.Server)
	front := c.cfg.Front.Handler(mux, c.Store, c.createRemoteUser)
	c.Handler = guard.Handler(server.WithDeadlines(front, c.cfg.Timeouts), c.log)
	return nil
}

// Close releases the store.
func (c *Controller) Close() error { return c.Store.Close() }

// resumer is an Executor whose jobs outlive this process (a batch
// system's): one it can follow again after a restart goes on where it is.
type resumer interface {
	CanResume(dir string, j *job.Job) bool
	Sweep(dir string)
}

// Recover undoes what a crash of this controller's previous process left.
// Jobs that its executor can follow again (Slurm jobs still queued,
// running or finished with their exit record) keep their attempt and are
// returned, their leases renewed, for the slots to take up. For the
// others it kills any process still running from the previous process
// (and cancels any batch job, which would write into the new attempt's
// directory), then puts them back in the queue: they run again, and as
// no result was recorded for them, none is recorded twice.
func (c *Controller) Recover(ctx context.Context) ([]*job.Job, error) {
	held, err := c.Store.HeldBy(ctx, c.cfg.Name)
	if err != nil {
		return nil, err
	}
	rs, canResume := c.cfg.Executor.(resumer)
	var resumed []*job.Job
	requeued := 0
	for _, j := range held {
		dir := string(c.Root.Job(j.ID))
		if canResume && c.Pool != nil && rs.CanResume(dir, j) {
			if _, err := c.Queue.Heartbeat(ctx, j.ID, j.Lease.Token, nil); err == nil {
				resumed = append(resumed, j)
				continue
			}
		}
		killed, err := proc.Sweep(filepath.Join(dir, "proc.json"))
		if err != nil {
			c.log.Warn("sweep", "job", j.ID, "err", err)
		}
		if killed {
			c.log.Info("killed a process left from before the restart", "job", j.ID)
		}
		if canResume {
			rs.Sweep(dir)
		}
		if _, err := c.Queue.ExpireLease(ctx, j.ID, j.Lease.Token); err != nil && !errors.Is(err, job.ErrLeaseLost) {
			return nil, err
		}
		requeued++
	}
	if requeued > 0 {
		c.log.Info("requeued jobs left running by the previous process", "count", requeued)
	}
	if len(resumed) > 0 {
		c.log.Info("taking up jobs that went on without the previous process", "count", len(resumed))
	}
	return resumed, nil
}

// Serve runs the controller on ln until ctx ends, then shuts down
// gracefully: local slots stop claiming and their jobs get the drain time
// to finish (or are handed back), then the HTTP server stops.
func (c *Controller) Serve(ctx context.Context, ln net.Listener, tlsCert, tlsKey string) error {
	resumed, err := c.Recover(ctx)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for _, j := range resumed {
		c.Pool.Resume(j, c.Root.Job(j.ID))
	}
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	timeouts := c.cfg.Timeouts.WithDefaults()
	srv := &http.Server{
		Handler: c.Handler,
		// The body and write limits are set per request (WithDeadlines),
		// where long polls and event streams can be told apart.
		ReadHeaderTimeout: timeouts.Header,
		IdleTimeout:       timeouts.Idle,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
	}
	srvErr := make(chan error, 1)
	go func() {
		var err error
		if tlsCert != "" {
			err = srv.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			err = srv.Serve(ln)
		}
		srvErr <- err
	}()

	bg, stopBg := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		guard.Loop(bg, c.log, "lease reaper", c.leading("lease reaper", c.Queue.RunReaper))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		guard.Loop(bg, c.log, "retention cleaner", c.leading("retention cleaner", c.Cleaner.Run))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Every controller runs one: its steps are conditional writes,
		// so two never take the same step twice.
		sc := &series.Coordinator{Queue: c.Queue, Logger: c.log}
		guard.Loop(bg, c.log, "series coordinator", sc.Run)
	}()
	if feed, ok := c.Store.(store.ChangeFeed); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guard.Loop(bg, c.log, "change feed", func(ctx context.Context) { c.Queue.Follow(ctx, feed) })
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		guard.Loop(bg, c.log, "notifier", c.Notifier.Run)
	}()
	poolCtx, stopPool := context.WithCancel(context.Background())
	poolDone := make(chan struct{})
	go func() {
		defer close(poolDone)
		if c.Pool != nil {
			c.Pool.Run(poolCtx)
		}
	}()

	c.notify("READY=1\nSTATUS=serving")
	select {
	case <-ctx.Done():
		c.notify("STOPPING=1\nSTATUS=draining")
		c.log.Info("shutting down: draining local slots", "drain", c.cfg.Drain)
	case err = <-srvErr:
		c.log.Error("http server stopped", "err", err)
	}
	stopPool()
	<-poolDone
	cancelBase() // ends event streams
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	srv.Shutdown(shutCtx)
	cancel()
	stopBg()
	wg.Wait()
	c.log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (c *Controller) notify(state string) {
	if c.cfg.Notify != nil {
		c.cfg.Notify(state)
	}
}
