package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// runInit is the helper as pid 1 of a job's own pid namespace (spec
// Init). It starts the helper again as its child, which confines itself
// and becomes the job, then reaps every process of the namespace,
// passes termination signals on to them, and once the job's first
// process has ended kills what it left and reports the job's wait status
// on s.ExitFD. When it exits the kernel ends whatever remains in the
// namespace, and when the executor dies (the parent-death signal) it
// exits. It stays root but runs none of the job's code, and is in none
// of the job's cgroups, so its threads take nothing from the job's
// limits.
func runInit(s *spec, status *os.File) int {
	exitPipe := os.NewFile(uintptr(s.ExitFD), "exit")
	if s.ExitFD <= 2 || exitPipe == nil {
		fmt.Fprint(status, "sandbox init: no exit pipe")
		return exitUsage
	}
	syscall.CloseOnExec(s.ExitFD)
	// Only signals with a handler reach a namespace's pid 1: these are
	// the ones that ask a job to stop.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)

	child := *s
	child.Init, child.ExitFD, child.ParentPID = false, 0, 1
	// The service's extra files keep their numbers; the status pipe
	// follows them, as it does for this process.
	files := []uintptr{0, 1, 2}
	for fd := 3; fd <= s.StatusFD; fd++ {
		files = append(files, uintptr(fd))
	}
	// /proc/self/exe is this very binary, wherever it lives: the job's
	// private root, which the child builds, need not hold it.
	pid, err := syscall.ForkExec("/proc/self/exe", []string{os.Args[0], "sandbox-exec", child.encode()},
		&syscall.ProcAttr{Dir: "/", Env: []string{}, Files: files,
			Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}})
	if err != nil {
		fmt.Fprintf(status, "sandbox init: start the job: %v", err)
		return exitSetup
	}
	status.Close() // the child holds it until it execs the job

	reaped := make(chan syscall.WaitStatus)
	go reapAll(pid, reaped)
	for {
		select {
		case sig := <-sigs:
			// -1 from a namespace's pid 1 is every other process in it.
			syscall.Kill(-1, sig.(syscall.Signal))
		case ws := <-reaped:
			fmt.Fprint(exitPipe, strconv.FormatUint(uint64(ws), 10))
			exitPipe.Close()
			switch {
			case ws.Exited():
				return ws.ExitStatus()
			case ws.Signaled():
				return 128 + int(ws.Signal())
			}
			return 1
		}
	}
}

// reapAll waits for every process of the namespace: orphans are
// re-parented to pid 1 and would stay zombies otherwise. When job, the
// first process, ends, the rest are killed (they were the job's too) and
// reaped, and then job's wait status is sent.
func reapAll(job int, done chan<- syscall.WaitStatus) {
	var jobStatus syscall.WaitStatus
	jobDone := false
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil { // ECHILD: nothing left
			break
		}
		if pid == job {
			jobStatus, jobDone = ws, true
		}
		if jobDone {
			syscall.Kill(-1, syscall.SIGKILL)
		}
	}
	if !jobDone {
		jobStatus = syscall.WaitStatus(1 << 8) // exit status 1; cannot happen
	}
	done <- jobStatus
}
