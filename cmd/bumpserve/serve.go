package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/retention"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/worker"
)

const serveUsage = `serve --addr HOST:PORT --data DIR [--workers N] [flags]

Runs the job controller: the HTTP API on --addr, the SQLite store and job
files in --data, and N local worker slots (CPUs). On first start it creates
an admin and writes its token to DIR/admin.token.`

func runServe(ctx context.Context, args []string) error {
	fs := newFlags("serve", serveUsage)
	fs.String("config", "", "a file of 'flag = value' lines (command-line flags win)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	data := fs.String("data", "./var", "data directory (job files; also the SQLite store unless --store)")
	storeURL := fs.String("store", "", "store URL: postgres://USER:PASSWORD@HOST:PORT/DB, which several controllers may share (default: SQLite in --data; see docs/postgres.md)")
	workers := fs.Int("workers", runtime.NumCPU(), "local worker slots in CPUs (0: dispatch only)")
	name := fs.String("name", "", "the local slots' worker name (default local@HOSTNAME)")
	executor := fs.String("executor", "local", "executor: local (in this process) or slurm (sbatch; see docs/slurm.md)")
	var sf slurmFlags
	sf.register(fs)
	slurmCPUs := fs.Int("slurm-max-cpus", 64, "with --executor slurm: cap on the CPUs of jobs in Slurm at once (a job of N CPUs counts N; replaces --workers)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM) to serve HTTPS")
	tlsKey := fs.String("tls-key", "", "TLS private key (PEM)")
	lease := fs.Duration("lease", queue.LeaseDefault, "how long a claimed job's lease lasts without a heartbeat")
	drain := fs.Duration("drain-timeout", controller.DrainDefault, "at shutdown, how long running jobs may finish before they are handed back")
	fullSync := fs.Bool("full-sync", false, "SQLite synchronous=FULL: durable across power loss, slower")
	wall := fs.Float64("max-wall-seconds", job.DefaultCaps.WallSeconds, "cap on a job's wall-clock time")
	memory := fs.Int64("max-memory-mb", job.DefaultCaps.MemoryMB, "cap on a job's memory")
	procs := fs.Int64("max-processes", job.DefaultCaps.Processes, "cap on a job's processes")
	disk := fs.Int64("max-disk-mb", job.DefaultCaps.DiskMB, "cap on a job's output")
	maxQueued := fs.Int("max-queued", server.MaxQueuedDefault, "queued jobs per user")
	maxUpload := fs.Int64("max-upload-mb", server.MaxUploadDefault>>20, "cap on one submission's uploaded files, in MB (larger answers 413)")
	rate := fs.Float64("submit-rate", server.SubmitRateDefault, "submissions per second per user")
	halfLife := fs.Duration("fair-share-half-life", queue.HalfLifeDefault, "how fast past usage is forgotten when ranking users")
	maxRunning := fs.Int("max-running", 0, "running jobs per user (0: no cap)")
	anonymous := fs.Bool("anonymous", false, "let anyone submit without a token under /api/v1/anonymous/jobs; the job is then reached only through the capability returned")
	legacyServices := fs.String("legacy-worker-services", "", "comma-separated services handed to old Bumps workers at /jobs/nextjob.json (default: all); a name bumpserve does not run (the original's count, fitter) is run by old workers only")
	retain := fs.String("retain", "", "delete finished jobs and their files this long after they end, per state: COMPLETE=30d,ERROR=30d,CANCEL=7d (units d, h, m, s; a state not named is kept for ever; pinned jobs always are)")
	userDisk := fs.Int64("user-disk-mb", 0, "disk quota per user in MB: a submission while a user's jobs hold that much is refused (0: none)")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	var ff frontFlags
	ff.register(fs)
	var sbf sandboxFlags
	sbf.register(fs)
	var nf notifyFlags
	nf.register(fs)
	pos, err := parseFlags(fs, args, map[string]string{"data": "BUMPSERVE_DATA", "addr": "BUMPSERVE_ADDR", "store": "BUMPSERVE_STORE"})
	if err != nil {
		return err
	}
	front, err := ff.front()
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve: unexpected argument %q", pos[0])
	}
	if *executor != "local" && *executor != "slurm" {
		return usagef("executor: %q is not an executor (accepted: local, slurm)", *executor)
	}
	if *storeURL != "" && !postgres.IsURL(*storeURL) {
		return usagef("store: %q is not a store URL (accepted: postgres://USER:PASSWORD@HOST:PORT/DB; none for SQLite in --data)", postgres.Redact(*storeURL))
	}
	if *workers < 0 {
		return usagef("workers: %d is negative", *workers)
	}
	if *maxUpload < 1 {
		return usagef("max-upload-mb: %d is not a positive number of MB", *maxUpload)
	}
	policy, err := retention.Parse(*retain)
	if err != nil {
		return usagef("%v", err)
	}
	if *userDisk < 0 {
		return usagef("user-disk-mb: %d is negative (0 for no quota)", *userDisk)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("tls-cert and tls-key go together")
	}
	var oldServices []string
	for _, name := range strings.Split(*legacyServices, ",") {
		if name = strings.TrimSpace(name); strings.ContainsAny(name, " \t") {
			return usagef("legacy-worker-services: %q is not a service name (a comma-separated list, e.g. count,fitter)", name)
		} else if name != "" {
			oldServices = append(oldServices, name)
		}
	}
	notifications, err := nf.config(ctx)
	if err != nil {
		return err
	}
	log := newLogger(*logJSON)
	// Say at once what is happening: opening the store and probing the
	// sandbox take a moment, and a silent terminal looks hung.
	log.Info("starting: opening the store and checking what confinement this host offers", "data", *data)
	if *name == "" && *storeURL != "" {
		// Controllers sharing a store may share a host: each needs a name
		// of its own, or one's restart would take the other's jobs for
		// its own. The address is unique on a host and stable across
		// restarts (a restarted controller recovers its own jobs).
		*name = sharedName(*executor, *addr)
	}
	slots, maxJobs, batch := *workers, 0, worker.Executor(nil)
	if *executor == "slurm" {
		// The slots then count CPUs handed to Slurm, not CPUs here.
		if slots = *slurmCPUs; slots < 1 {
			return usagef("slurm-max-cpus: %d is not a positive number", *slurmCPUs)
		}
		maxJobs = sf.maxJobs
		if batch, err = sf.executor(log); err != nil {
			return err
		}
		if *name == "" {
			host, _ := os.Hostname()
			*name = "slurm@" + host
		}
	}
	var runner service.Runner
	if batch == nil && slots > 0 {
		if runner, err = sbf.runner(log); err != nil {
			return err
		}
		defer closeRunner(runner)
	}
	c, err := controller.Open(ctx, controller.Config{
		Runner: runner,
		Data:   *data, Store: *storeURL, Workers: slots, Executor: batch, MaxJobs: maxJobs, Name: *name, Lease: *lease, Drain: *drain, FullSync: *fullSync,
		HalfLife: *halfLife, MaxRunning: *maxRunning,
		Caps: job.Limits{WallSeconds: *wall, MemoryMB: *memory, Processes: *procs, DiskMB: *disk},
		Server: server.Config{MaxQueued: *maxQueued, SubmitRate: *rate, Anonymous: *anonymous, MaxUpload: *maxUpload << 20,
			LegacyWorkerServices: oldServices, UserDiskMB: *userDisk, AllowHTTPWebhooks: nf.allowHTTP},
		Retain:        policy,
		Notifications: notifications,
		Front:         front,
		Notify:        notifier(log),
		Logger:        log,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if path, err := c.Bootstrap(ctx); err != nil {
		return err
	} else if path != "" {
		log.Info("created the first admin; its token is in "+path, "user", "admin", "token_file", path)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String() + front.BasePath
	ready := "ready at " + url
	if tok := filepath.Join(*data, "admin.token"); fileExists(tok) {
		ready += ", admin token in " + tok
	}
	log.Info(ready, "url", url, "data", *data, "store", storeName(*storeURL), "workers", *workers)
	return c.Serve(ctx, ln, *tlsCert, *tlsKey)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func newLogger(asJSON bool) *slog.Logger {
	if asJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// sharedName is the default name of the local slots (or the Slurm
// executor) of a controller on a shared store: EXECUTOR@HOST:PORT.
func sharedName(executor, addr string) string {
	host, _ := os.Hostname()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		port = addr
	}
	return executor + "@" + host + ":" + port
}

// storeName names the store for the log, without a password.
func storeName(url string) string {
	if url == "" {
		return "sqlite"
	}
	return postgres.Redact(url)
}
