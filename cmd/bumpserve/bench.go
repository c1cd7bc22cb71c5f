package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/bumpserve/bumpserve/internal/bench"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
)

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "bench [--jobs N] [--workers N,...] [--submitters N] [--remote] [--dir DIR] [--full-sync] [--prefill N] [--files-per-job N] [--batch N] [--store postgres://… [--controllers N]]")
	jobs := fs.Int("jobs", 5000, "jobs to run")
	workers := fs.String("workers", "", "local slots; a comma-separated list runs one measurement each (default: number of CPUs)")
	submitters := fs.Int("submitters", 8, "concurrent HTTP submitters")
	full := fs.Bool("full-sync", false, "SQLite synchronous=FULL")
	remote := fs.Bool("remote", false, "run the slots in an HTTP worker instead of local slots")
	cancelJobs := fs.Int("cancel-jobs", 20, "jobs for the cancel-latency measurement (0: skip it)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run here")
	dir := fs.String("dir", "", "put the data and work directories under this directory (default: the system's temporary directory); its file system is often the limit")
	prefill := fs.Int("prefill", 0, "finished jobs already in the store when the run starts")
	files := fs.Int("files-per-job", 0, "small output files each job writes besides its usual one (0-1000)")
	batch := fs.Int("batch", 100, "after the headline run (one job per request), run as many jobs submitted this many per request (0: skip)")
	storeURL := fs.String("store", "", "run the controller on PostgreSQL: a postgres:// URL of a server where the bench may create (and drop) a scratch database per run (default: SQLite in the data directory)")
	controllers := fs.Int("controllers", 1, "with --store: controllers sharing the database and data directory, each with --workers local slots (submissions go to the first)")
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench: unexpected argument %q", pos[0])
	}
	switch {
	case *jobs <= 0:
		return usagef("jobs: %d is not a positive number", *jobs)
	case *prefill < 0:
		return usagef("prefill: %d is negative (accepted: 0 or more finished jobs)", *prefill)
	case *files < 0 || *files > 1000:
		return usagef("files-per-job: %d is not between 0 and 1000", *files)
	case *storeURL != "" && !postgres.IsURL(*storeURL):
		return usagef("store: %q is not a postgres:// URL (accepted: postgres://USER:PASSWORD@HOST:PORT/DB, or none for SQLite)", postgres.Redact(*storeURL))
	case *controllers < 1 || *controllers > 1 && *storeURL == "":
		return usagef("controllers: %d; accepted: 1, or more with --store postgres://…", *controllers)
	case *batch < 0 || *batch > server.MaxBatch:
		return usagef("batch: %d is not between 0 and %d", *batch, server.MaxBatch)
	}
	counts, err := intList(*workers, runtime.NumCPU())
	if err != nil {
		return usagef("workers: %v", err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for _, n := range counts {
		rep, err := bench.Run(ctx, bench.Config{Jobs: *jobs, Workers: n, Submitters: *submitters, FullSync: *full, Remote: *remote, Dir: *dir,
			Prefill: *prefill, FilesPerJob: *files, Batch: *batch, Store: *storeURL, Controllers: *controllers})
		if err != nil {
			return err
		}
		rep.Print(os.Stdout)
	}
	if *cancelJobs == 0 {
		return nil
	}
	p50, worst, err := bench.CancelLatency(ctx, *cancelJobs)
	if err != nil {
		return err
	}
	fmt.Printf("cancel of a running job → CANCEL state (%d jobs, half in child processes): p50 %v, max %v\n",
		*cancelJobs, p50.Round(time.Microsecond), worst.Round(time.Microsecond))
	p50, worst, err = bench.LeaseExpiry(ctx, 10, 300*time.Millisecond)
	if err != nil {
		return err
	}
	fmt.Printf("lease end → job back to PENDING (10 leases of 300 ms nobody renews): p50 %v, max %v\n",
		p50.Round(time.Microsecond), worst.Round(time.Microsecond))
	return nil
}
