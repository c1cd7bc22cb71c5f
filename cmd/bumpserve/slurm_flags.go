package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/slurm"
)

// slurmFlags are the Slurm executor's settings, shared by serve and worker.
type slurmFlags struct {
	partition, account, extra, bin, forgotten, accounting string
	time                                                  time.Duration
	memMB                                                 int64
	maxJobs                                               int
	poll                                                  time.Duration
	services                                              serviceFlags
}

func (f *slurmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.partition, "slurm-partition", "", "with --executor slurm: sbatch --partition (default: the cluster's)")
	fs.StringVar(&f.account, "slurm-account", "", "with --executor slurm: sbatch --account")
	fs.DurationVar(&f.time, "slurm-time", 0, "with --executor slurm: cap on sbatch --time (default: each job's wall limit, itself capped by --max-wall-seconds)")
	fs.Int64Var(&f.memMB, "slurm-mem", 0, "with --executor slurm: cap on sbatch --mem in MB, lowered by a job's limits.memory_mb (0: no --mem)")
	fs.StringVar(&f.extra, "slurm-extra", "", "with --executor slurm: more sbatch flags, space-separated (e.g. '--qos=short --constraint=avx2')")
	fs.Var(&f.services, "slurm-service", "with --executor slurm: SERVICE=FLAGS, more sbatch flags for one service's jobs (repeatable; e.g. 'bumps=--partition=long')")
	fs.StringVar(&f.bin, "slurm-bin", "", "with --executor slurm: the bumpserve binary as compute nodes see it (default: this executable)")
	fs.StringVar(&f.forgotten, "slurm-forgotten", slurm.ForgottenError, "with --executor slurm: a job Slurm forgot without an exit record: error (ERROR \"lost\") or requeue (submit again)")
	fs.StringVar(&f.accounting, "slurm-accounting", "auto", "with --executor slurm: where to look up jobs slurmctld forgot: auto (sacct, then sacct -c) or none")
	fs.IntVar(&f.maxJobs, "slurm-max-jobs", 0, "with --executor slurm: cap on jobs in Slurm at once, beside the cap on CPUs (0: none)")
	fs.DurationVar(&f.poll, "slurm-poll", slurm.PollDefault, "with --executor slurm: how often one squeue call checks all jobs")
}

// executor builds the Slurm executor from the flags.
func (f *slurmFlags) executor(log *slog.Logger) (*slurm.Executor, error) {
	acct := f.accounting
	if acct == "auto" {
		acct = slurm.AccountingAuto
	}
	if f.time < 0 || f.memMB < 0 {
		return nil, usagef("slurm-time and slurm-mem: must not be negative")
	}
	if f.maxJobs < 0 {
		return nil, usagef("slurm-max-jobs: %d is negative (0: no cap beyond the CPUs)", f.maxJobs)
	}
	e, err := slurm.New(slurm.Config{
		Options: slurm.Options{Partition: f.partition, Account: f.account, Time: f.time, MemoryMB: f.memMB,
			Extra: strings.Fields(f.extra)},
		Services: f.services.m, Bin: f.bin, Forgotten: f.forgotten, Accounting: acct, Poll: f.poll, Logger: log,
	})
	if err != nil {
		return nil, usagef("%v", err)
	}
	return e, nil
}

// serviceFlags collects --slurm-service SERVICE=FLAGS.
type serviceFlags struct{ m map[string]slurm.Options }

func (s *serviceFlags) String() string { return "" }

func (s *serviceFlags) Set(v string) error {
	name, flags, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not SERVICE=FLAGS (e.g. 'bumps=--partition=long')", v)
	}
	if s.m == nil {
		s.m = map[string]slurm.Options{}
	}
	o := s.m[name]
	o.Extra = append(o.Extra, strings.Fields(flags)...)
	s.m[name] = o
	return nil
}
