package sandbox

import "github.com/bumpserve/bumpserve/internal/job"

// Job is what the sandbox is told of the job whose process it runs, in
// its own words: the executor's service layer fills one in for each
// process (see service.Confined), so the sandbox knows nothing of
// services.
type Job struct {
	// Input is the directory the job may read (its uploads); Output and
	// Temp the ones it may write (its results, and its private HOME and
	// TMPDIR, where it starts unless the command says otherwise). All
	// absolute, all existing.
	Input, Output, Temp string
	// Limits bound the process tree: CPU, memory, processes and disk
	// (wall time is the caller's, through the context).
	Limits job.Limits
	// PIDFile is where the process is recorded once started, so a
	// restarted executor can sweep it (see package proc).
	PIDFile string
	// Loopback gives the job's processes TCP among themselves: a network
	// namespace of the job's own with only its loopback interface up, in
	// which IP sockets are allowed (MPI ranks need them: PMIx 4 talks to
	// its clients over loopback TCP only). Nothing outside the namespace
	// is reachable from it. Without root the namespace is made in a user
	// namespace of the job's own; a host that allows neither refuses
	// such a job.
	Loopback bool

	// Protections is set by Run, once the process is about to start, to
	// the confinement it runs under ("landlock-v6", "seccomp", "uid",
	// ...): the job's record lists them.
	Protections []string
}
