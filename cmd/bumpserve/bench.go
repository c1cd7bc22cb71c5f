package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/bumpserve/bumpserve/internal/bench"
)

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "bench [--jobs N] [--workers N] [--submitters N] [--full-sync]")
	jobs := fs.Int("jobs", 5000, "jobs to run")
	workers := fs.String("workers", "", "local slots; a comma-separated list runs one measurement each (default: number of CPUs)")
	submitters := fs.Int("submitters", 8, "concurrent HTTP submitters")
	full := fs.Bool("full-sync", false, "SQLite synchronous=FULL")
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench: unexpected argument %q", pos[0])
	}
	counts, err := intList(*workers, runtime.NumCPU())
	if err != nil {
		return usagef("workers: %v", err)
	}
	for _, n := range counts {
		rep, err := bench.Run(ctx, bench.Config{Jobs: *jobs, Workers: n, Submitters: *submitters, FullSync: *full})
		if err != nil {
			return err
		}
		rep.Print(os.Stdout)
	}
	p50, worst, err := bench.CancelLatency(ctx, 20)
	if err != nil {
		return err
	}
	fmt.Printf("cancel of a running job → CANCEL state (20 jobs, half in child processes): p50 %v, max %v\n",
		p50.Round(time.Microsecond), worst.Round(time.Microsecond))
	return nil
}
