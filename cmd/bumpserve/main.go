// Command bumpserve is the remote fitting service: the job controller
// (serve), user and token administration (user), the client commands
// (submit, jobs, show, wait, results, files, cancel, delete), a local fit
// with no server (fit) and benchmarks (bench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "run the job controller with local worker slots", runServe},
		{"user", "add users, list and revoke tokens (user add|list|token|tokens|revoke)", runUser},
		{"worker", "pull jobs from a controller and run them here", runWorker},
		{"run-job", "run one job in this process (what a Slurm batch job runs)", runRunJob},
		{"workers", "list the controller's workers (admins)", runWorkers},
		{"submit", "submit a job", runSubmit},
		{"jobs", "list jobs", runJobs},
		{"show", "show one job", runShow},
		{"wait", "wait for a job to finish, showing its progress", runWait},
		{"results", "print a job's results", runResults},
		{"files", "list a job's files, or download one (files ID [PATH])", runFiles},
		{"cancel", "cancel a job", runCancel},
		{"delete", "delete a job and its files", runDelete},
		{"fit", "run a native fit here, no server: results JSON on stdout", runFit},
		{"bench", "measure job throughput and latency on local slots", runBench},
		{"version", "print bumpserve's version", runVersion},
		{"sandbox-exec", "(internal) confine this process, then run a job", runSandboxExec},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "bumpserve: a remote fitting service\n\nusage: bumpserve COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\n'bumpserve COMMAND --help' describes a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(c.run(ctx, args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "bumpserve: unknown command %q\n\n", args[0])
	usage()
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
