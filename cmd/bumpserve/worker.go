package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/lograte"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/worker"
)

const workerUsage = `worker --server URL --token TOKEN [--slots N] [--name NAME] [flags]

Pulls jobs from a controller and runs them here in N CPU slots, posting
results back. The token must be a worker identity's (user add --worker).
SIGTERM drains: no new claims; running jobs finish or, after
--drain-timeout, are handed back.`

func runWorker(ctx context.Context, args []string) error {
	fs := newFlags("worker", workerUsage)
	fs.String("config", "", "a file of 'flag = value' lines (command-line flags win); keeps the token off the command line")
	var cf clientFlags
	cf.register(fs)
	host, _ := os.Hostname()
	slots := fs.Int("slots", runtime.NumCPU(), "CPUs to fill with jobs")
	name := fs.String("name", host, "this worker's name (one token may serve several names)")
	services := fs.String("services", "", "comma-separated services to run (default: all this build has)")
	workDir := fs.String("work-dir", "", "where job directories live here (default: a folder under the system temp dir)")
	drain := fs.Duration("drain-timeout", controller.DrainDefault, "at shutdown, how long running jobs may finish before they are handed back")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	var sbf sandboxFlags
	sbf.register(fs)
	executor := fs.String("executor", "local", "executor: local (here) or slurm (sbatch on this head node's cluster; --slots caps the CPUs in Slurm at once)")
	var sf slurmFlags
	sf.register(fs)
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("worker: unexpected argument %q", pos[0])
	}
	if *slots < 1 {
		return usagef("slots: %d is not a positive number", *slots)
	}
	registry := controller.Services()
	var svcNames []string
	if *services != "" {
		for _, s := range strings.Split(*services, ",") {
			if _, err := registry.Lookup(strings.TrimSpace(s)); err != nil {
				return usagef("services: %v", err)
			}
			svcNames = append(svcNames, strings.TrimSpace(s))
		}
	}
	if svcNames == nil {
		// Every service this build runs, and never one only old Bumps
		// workers run (serve --legacy-worker-services).
		svcNames = registry.Names()
	}
	if *executor != "local" && *executor != "slurm" {
		return usagef("executor: %q is not an executor (accepted: local, slurm)", *executor)
	}
	if *executor == "slurm" && *workDir == "" {
		return usagef("work-dir: required with --executor slurm (a directory the compute nodes share)")
	}
	if *workDir == "" {
		*workDir = filepath.Join(os.TempDir(), "bumpserve-worker-"+*name)
	}
	// Absolute, as the server's data directory is: job processes (and
	// Slurm's compute nodes) start elsewhere than this process.
	if *workDir, err = filepath.Abs(*workDir); err != nil {
		return usagef("work-dir: %v", err)
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	// Retries against an unreachable or full controller log once a minute.
	log := slog.New(lograte.New(newLogger(*logJSON).Handler(), lograte.EveryDefault)).With("worker", *name)
	src := &worker.RemoteSource{Client: cl, Name: *name, Slots: *slots, Services: svcNames,
		WorkDir: *workDir, MaxInput: 1 << 30, Logger: log}
	var batch worker.Executor
	maxJobs := 0
	if *executor == "slurm" {
		maxJobs = sf.maxJobs
		e, err := sf.executor(log)
		if err != nil {
			return err
		}
		// Slurm jobs go on while this worker is down: take up those
		// whose leases still hold, cancel the others before rerunning.
		src.Resumable, src.SweepDir = e.CanResume, e.Sweep
		batch = e
	}
	var runner service.Runner
	if batch == nil {
		if runner, err = sbf.runner(log); err != nil {
			return err
		}
		defer closeRunner(runner)
	}
	resumed := src.Resume(ctx)
	src.Sweep()
	pool, err := worker.NewPool(worker.Config{Name: *name, Slots: *slots, MaxJobs: maxJobs, Source: src, Services: registry, Drain: *drain,
		Logger: log, Executor: batch, Runner: runner})
	if err != nil {
		return err
	}
	for _, r := range resumed {
		log.Info("taking up a job held before the restart", "job", r.Job.ID, "attempt", r.Job.Attempt)
		pool.Resume(r.Job, r.Dir)
	}
	log.Info("worker started", "server", cf.server, "slots", *slots, "work_dir", *workDir)
	notify := notifier(log)
	notify("READY=1\nSTATUS=pulling jobs")
	stopping := context.AfterFunc(ctx, func() { notify("STOPPING=1\nSTATUS=draining") })
	defer stopping()
	err = pool.Run(ctx)
	log.Info("worker stopped")
	return err
}

func runWorkers(ctx context.Context, args []string) error {
	fs := newFlags("workers", "workers [--server URL --token ADMIN-TOKEN] [--json]")
	var cf clientFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON document: {\"workers\": [...]}")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("workers: unexpected argument %q", pos[0])
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	list, err := cl.Workers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(map[string]any{"workers": nonNil(list)})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSLOTS\tRUNNING\tLAST HEARTBEAT\tUSER")
	for _, w := range list {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s ago\t%s\n", w.Name, w.Slots, w.Running, time.Since(w.LastHeartbeat).Round(time.Second), w.User)
	}
	return tw.Flush()
}
