// Command bumpserve is the remote fitting service: the job controller
// (serve), user and token administration (user), the client commands
// (submit, jobs, show, wait, logs, results, files, download, cancel,
// delete), a local fit with no server (fit), benchmarks (bench) and the
// build's version (version).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
	// internal commands are run by bumpserve itself (the sandbox's
	// helper, Slurm's batch script), not typed by users: not listed.
	internal bool
}

var commands []command

func init() {
	commands = []command{
		{name: "serve", summary: "run the job controller with local worker slots", run: runServe},
		{name: "user", summary: "add users, list and revoke tokens (user add|list|token|tokens|revoke)", run: runUser},
		{name: "group", summary: "make groups of users to share jobs with (group add|member|list)", run: runGroup},
		{name: "worker", summary: "pull jobs from a controller and run them here", run: runWorker},
		{name: "workers", summary: "list the controller's workers (admins)", run: runWorkers},
		{name: "admin", summary: "drain or resume a worker, requeue a job, set its priority, cancel a user's jobs (admins)", run: runAdmin},
		{name: "submit", summary: "submit a job", run: runSubmit},
		{name: "jobs", summary: "list jobs", run: runJobs},
		{name: "show", summary: "show one job", run: runShow},
		{name: "wait", summary: "wait for a job to finish, showing its progress", run: runWait},
		{name: "logs", summary: "print a job's log; --follow prints it as it grows", run: runLogs},
		{name: "results", summary: "print a job's results", run: runResults},
		{name: "files", summary: "list a job's files, or download one (files ID [PATH])", run: runFiles},
		{name: "download", summary: "download all of a job's files into a directory", run: runDownload},
		{name: "cancel", summary: "cancel a job", run: runCancel},
		{name: "stop", summary: "stop a running fit early, keeping what it found", run: runStop},
		{name: "resume", summary: "continue a finished or stopped DREAM fit for more samples (resume ID --samples N)", run: runResume},
		{name: "delete", summary: "delete a job and its files", run: runDelete},
		{name: "keep", summary: "pin a job so retention never deletes it (keep --off ID unpins)", run: runKeep},
		{name: "usage", summary: "CPU-hours and disk per user and group (usage [--user U] [--group G] [--since DATE])", run: runUsage},
		{name: "share", summary: "share a job read-only with groups of yours (share ID GROUP...)", run: runShare},
		{name: "unshare", summary: "stop sharing a job with groups (unshare ID GROUP...)", run: runUnshare},
		{name: "copy", summary: "submit a copy of a job you can see as your own", run: runCopy},
		{name: "fit", summary: "run a native fit here, no server: results JSON on stdout", run: runFit},
		{name: "migrate", summary: "copy a SQLite store into PostgreSQL (migrate --from DIR --to postgres://…)", run: runMigrate},
		{name: "backup", summary: "copy the SQLite store and job files while the server runs (backup --data DIR OUT)", run: runBackup},
		{name: "bench", summary: "measure job throughput and latency on local slots", run: runBench},
		{name: "version", summary: "print the version, commit and Go version of this build", run: runVersion},
		{name: "run-job", summary: "run one job in this process (what a Slurm batch job runs)", run: runRunJob, internal: true},
		{name: "sandbox-exec", summary: "confine this process, then run a job", run: runSandboxExec, internal: true},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "bumpserve: a remote fitting service\n\nusage: bumpserve COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands {
		if !c.internal {
			fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\n'bumpserve COMMAND --help' (or 'bumpserve help COMMAND') describes a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		if args[0] == "help" && len(args) > 1 {
			// "help COMMAND" is "COMMAND --help".
			args = []string{args[1], "--help"}
		} else {
			usage(os.Stdout)
			return 0
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(c.run(ctx, args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "bumpserve: unknown command %q (see 'bumpserve --help')\n", args[0])
	return 2
}

// exitCode prints err and chooses the exit status: 2 for a bad call or
// input the server refused as bad, 1 for any other failure.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ec *exitError
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintln(os.Stderr, "bumpserve:", ec.msg)
		}
		return ec.code
	}
	if msg, ok := unreachable(err); ok {
		fmt.Fprintln(os.Stderr, "bumpserve:", msg)
		return 1
	}
	fmt.Fprintln(os.Stderr, "bumpserve:", err)
	var ue *usageError
	if errors.As(err, &ue) || isBadInput(err) {
		return 2
	}
	return 1
}

// exitError ends a command with a chosen status.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
