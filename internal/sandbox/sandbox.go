// Package sandbox confines every process a job runs. A small helper (the
// bumpserve binary run as `bumpserve sandbox-exec SPEC`) restricts itself
// and then execs the job, so the job is born confined:
//
//   - Landlock: read-only system paths (not all of /etc) and input/,
//     read-write output/ and a private temp dir, /dev/null; TCP bind and
//     connect denied; no signals or abstract sockets to outside processes;
//   - seccomp: no socket but AF_UNIX (Landlock at ABI 7 misses UDP and
//     MPTCP), no setsid/setpgid (the job cannot leave its process
//     group), no new namespaces, no io_uring;
//   - no_new_privs, rlimits (CPU, address space, file size, processes,
//     open files, no core files), its own session and process group;
//   - as root also: a user id of its own per running job, a network
//     namespace with no interfaces up, a private root holding only the
//     paths above, and cgroups bounding memory and processes of the whole
//     tree, through which the whole tree is killed at the end.
//
// Every job's record lists the protections that were in force.
package sandbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/proc"
)

// SystemPathsDefault are the read-only paths every job sees: enough for
// coreutils and python3 with Bumps, NumPy, SciPy and matplotlib. Of /etc
// NumPy needs /etc/alternatives (Debian's libblas.so.3 is a link through
// it) and matplotlib /etc/matplotlibrc; the rest only speed up loading
// or silence fontconfig. Paths a host lacks are skipped. Not all of
// /etc: as root that would include /etc/shadow.
var SystemPathsDefault = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
	"/etc/alternatives", "/etc/matplotlibrc", // needed: libblas.so.3 and matplotlib
	"/etc/ld.so.cache", "/etc/fonts", "/etc/localtime", "/var/cache/fontconfig", "/sys/devices/system/cpu",
}

// Config configures a Sandbox. Zero values take the defaults.
type Config struct {
	// Helper is a binary that runs Main when called as
	// `Helper sandbox-exec SPEC`; default: this executable.
	Helper string
	// UIDs is the range of user ids for jobs when running as root;
	// default UIDsDefault.
	UIDs [2]int
	// Require lists protections (names such as "uid" or "landlock-v6")
	// or levels ("basic", "strict") that every job must get; Run refuses
	// to start a job on a host that cannot give them.
	Require []string
	// SystemPaths are extra read-only paths for jobs.
	SystemPaths []string
	// Unprivileged gives only what any user gets (Landlock, seccomp,
	// no-new-privs, rlimits, session), even when running as root: for
	// executors that cannot own a range of user ids on their host, such
	// as several run-job processes sharing a Slurm compute node.
	Unprivileged bool
	// ClaimDir is where executors on this host claim their UIDs ranges;
	// default ClaimDirDefault.
	ClaimDir string
	// UIDsName is how the user sets UIDs, named when the range is taken
	// (the command line's "--sandbox-uids"); default "Config.UIDs".
	UIDsName string
	Logger   *slog.Logger
}

// Sandbox runs job processes confined.
type Sandbox struct {
	helper string
	system []string
	host   host
	prot   []string
	users  *users // nil unless root
	claim  *claim // this process's hold on the uid range, nil unless root
	refuse error  // why Run refuses every job (Config.Require unmet)
	log    *slog.Logger
}

// New probes the host once (Landlock ABI, seccomp, root, cgroup layout),
// claims the UID range for this process (as root; a range overlapping
// one that a live executor holds is refused, naming the holder), sweeps
// the cgroups a crashed predecessor on the range left, and returns a
// Sandbox. Close gives the range back.
func New(cfg Config) (*Sandbox, error) {
	log := cmp.Or(cfg.Logger, slog.Default()).With("component", "sandbox")
	helper := cfg.Helper
	if helper == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("sandbox: Helper: none given and this executable is unknown: %w", err)
		}
		helper = exe
	}
	if fi, err := os.Stat(helper); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("sandbox: Helper: %q is not an executable file", helper)
	}
	if cfg.UIDs == [2]int{} {
		cfg.UIDs = UIDsDefault
	}
	s := &Sandbox{helper: helper, log: log}
	s.system = append(slices.Clone(SystemPathsDefault), cfg.SystemPaths...)
	for _, p := range cfg.SystemPaths {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("sandbox: SystemPaths: %q is not an absolute path", p)
		}
	}
	// Check everything before the sweep below kills anything.
	if _, err := missing(cfg.Require, nil); err != nil {
		return nil, err
	}
	u, err := newUsers(cfg.UIDs)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 && !cfg.Unprivileged {
		// Before any cgroup is made or swept: only the holder of a range
		// may touch what carries its ids.
		s.claim, err = claimUIDs(cmp.Or(cfg.ClaimDir, ClaimDirDefault), cfg.UIDs[0], cfg.UIDs[1], ownerDescription())
		if errors.Is(err, errRangeTaken) {
			return nil, fmt.Errorf("sandbox: %w; each bumpserve process on a host needs a range of its own: choose another with %s FIRST-LAST",
				err, cmp.Or(cfg.UIDsName, "Config.UIDs"))
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	s.host = probeHost(parentName(cfg.UIDs[0], cfg.UIDs[1]), s.claim != nil)
	if s.host.root {
		s.users = u
		if s.host.cgErr != nil {
			log.Warn("cgroups unavailable", "err", s.host.cgErr)
		}
		if n, err := s.host.cg.sweep(cfg.UIDs[0], cfg.UIDs[1]); n > 0 || err != nil {
			log.Warn("swept job cgroups left by an earlier run", "killed", n, "err", err)
		}
	}
	s.prot = s.host.protections()
	miss, err := missing(cfg.Require, s.prot)
	if err != nil {
		s.Close()
		return nil, err
	}
	if len(miss) > 0 {
		s.refuse = fmt.Errorf("sandbox: this host cannot give the required protections %s (it gives %s)",
			strings.Join(miss, ", "), strings.Join(s.prot, ", "))
		log.Error("jobs will be refused", "missing", miss, "available", s.prot)
	} else {
		log.Info("job confinement", "protections", s.prot)
	}
	return s, nil
}

// Close removes the sandbox's own (parent) cgroups once its jobs have
// ended and gives its uid range back; the Sandbox must not run jobs
// afterwards.
func (s *Sandbox) Close() error {
	s.host.cg.close()
	s.claim.release()
	return nil
}

// Available lists the protections this host gives every job.
func (s *Sandbox) Available() []string { return slices.Clone(s.prot) }

// Run runs cmd confined as the process of job j, records it in
// j.PIDFile, waits for it, kills everything it started when it ends or
// ctx ends, and sets j.Protections.
// cmd.Env nil gives the job a minimal environment, never the executor's.
// A limit the job hit is named in the error.
func (s *Sandbox) Run(ctx context.Context, cmd *exec.Cmd, j *Job) error {
	if s.refuse != nil {
		return s.refuse
	}
	if cmd.Err != nil {
		return cmd.Err
	}
	if cmd.Process != nil || cmd.SysProcAttr != nil {
		return errors.New("sandbox: the command was started or carries its own process attributes")
	}
	sp := &spec{
		Path: cmd.Path, Args: slices.Clone(cmd.Args), Env: jobEnv(cmd.Env, j),
		Dir:       cmp.Or(cmd.Dir, j.Temp),
		ReadOnly:  append(slices.Clone(s.system), j.Input),
		ReadWrite: []string{j.Output, j.Temp},
		Landlock:  s.host.landlock > 0, Seccomp: s.host.seccomp,
		ParentPID: os.Getpid(),
	}
	if len(sp.Args) == 0 {
		sp.Args = []string{cmd.Path}
	}
	attr := &syscall.SysProcAttr{Setsid: true}
	if j.Loopback {
		sp.Loopback = true
		sp.ReadOnly = append(sp.ReadOnly, MPIPaths...)
		if s.users == nil {
			sp.DropCaps = loopbackAttr(attr)
		}
	}
	var cg *jobCgroup
	extraProcs := 0
	if s.users != nil {
		uid, err := s.users.acquire()
		if err != nil {
			return err
		}
		// Deferred first, so it runs last: after the cgroup is gone, no
		// process has this uid.
		defer s.users.release(uid)
		for _, d := range []string{j.Output, j.Temp} {
			if err := chownTree(d, uid); err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
		}
		sp.UID, sp.MountNS, sp.Init = uid, true, true
		attr.Cloneflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWPID
		if s.host.cg.memory != "" || s.host.cg.pids != "" || s.host.cg.kill != "" {
			cg, err = s.host.cg.create("job-"+strconv.Itoa(uid), j.Limits.MemoryMB, j.Limits.Processes)
			if err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
			defer cg.destroy()
			sp.Cgroups = cg.procsFiles()
			if s.host.cg.pids != "" {
				// The cgroup is the bound, and says when it refused a
				// fork; RLIMIT_NPROC one above it is the backstop.
				extraProcs = 1
			}
		}
	} else {
		// RLIMIT_NPROC counts every task of the shared user.
		extraProcs = userTasks(os.Getuid())
	}
	sp.Rlimits = jobRlimits(j.Limits, extraProcs, cg != nil && s.host.cg.memory != "")

	statusR, statusW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer statusR.Close()
	sp.StatusFD = 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, statusW)
	var exitR, exitW *os.File
	if sp.Init {
		if exitR, exitW, err = os.Pipe(); err != nil {
			statusW.Close()
			return fmt.Errorf("sandbox: %w", err)
		}
		defer exitR.Close()
		sp.ExitFD = sp.StatusFD + 1
		cmd.ExtraFiles = append(cmd.ExtraFiles, exitW)
	}
	cmd.Path, cmd.Args = s.helper, []string{s.helper, "sandbox-exec", sp.encode()}
	cmd.Env, cmd.Dir = []string{}, "/"
	cmd.SysProcAttr = attr
	// A daemon holding the job's stdout must not keep Wait from returning.
	cmd.WaitDelay = cmp.Or(cmd.WaitDelay, time.Second)
	j.Protections = protectionsOf(s.prot, j.Loopback)

	if j.Limits.DiskMB > 0 {
		var stopJob context.CancelCauseFunc
		ctx, stopJob = context.WithCancelCause(ctx)
		defer stopJob(nil)
		go watchDisk(ctx, j.Limits.DiskMB, []string{j.Output, j.Temp}, stopJob)
	}
	runErr := proc.Run(ctx, cmd, j.PIDFile)
	var exitErr *exec.ExitError
	if sp.DropCaps && runErr != nil && !errors.As(runErr, &exitErr) && ctx.Err() == nil {
		runErr = fmt.Errorf("sandbox: a job of several tasks needs a network namespace of its own, "+
			"made without root in a user namespace, which this host refused (allow unprivileged user namespaces, or run as root): %w", runErr)
	}
	statusW.Close()
	if cg != nil {
		cg.kill()
	}
	status, _ := io.ReadAll(statusR)
	var jobStatus []byte
	if exitR != nil {
		exitW.Close()
		jobStatus, _ = io.ReadAll(exitR)
	}
	return explain(runErr, status, jobStatus, cg, j.Limits)
}

// jobEnv is the job's environment: base (or, when nil, a minimal one),
// with BUMPSERVE_INPUT and BUMPSERVE_OUTPUT set and HOME, TMPDIR and
// MPLCONFIGDIR pointing into the private temp dir unless the service
// chose them (bumps puts matplotlib's in a subdirectory).
func jobEnv(base []string, j *Job) []string {
	if base == nil {
		base = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	}
	forced := map[string]string{"BUMPSERVE_INPUT": j.Input, "BUMPSERVE_OUTPUT": j.Output}
	defaults := []string{"HOME", "TMPDIR", "MPLCONFIGDIR"}
	out := make([]string, 0, len(base)+5)
	seen := map[string]bool{}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := forced[k]; !ok {
			out = append(out, kv)
			seen[k] = true
		}
	}
	for _, k := range defaults {
		if !seen[k] {
			out = append(out, k+"="+j.Temp)
		}
	}
	return append(out, "BUMPSERVE_INPUT="+j.Input, "BUMPSERVE_OUTPUT="+j.Output)
}

// explain turns how the job ended into the error its record shows: the
// helper's own failure, or a limit the job hit, named as the executor
// names limits ("limit exceeded: cpu_seconds (2 s)"). jobStatus is the
// wait status the namespace's pid 1 reported for the job, if it did.
func explain(runErr error, status, jobStatus []byte, cg *jobCgroup, l job.Limits) error {
	if len(status) > 0 {
		return fmt.Errorf("sandbox: %s", status)
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return runErr // nil, or why ctx ended
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	if n, err := strconv.ParseUint(string(jobStatus), 10, 32); err == nil {
		ws = syscall.WaitStatus(n)
		// pid 1 exits with the job's code, or 128+signal: say it as the
		// job's own end would have been said.
		runErr = &jobExit{ws: ws, err: runErr}
	}
	cpu := ee.UserTime() + ee.SystemTime()
	ooms := 0
	if cg != nil {
		ooms = cg.oomKills() // memory.events, read once
	}
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGXCPU,
		ws.Signaled() && ws.Signal() == syscall.SIGKILL && l.CPUSeconds > 0 && cpu.Seconds() >= l.CPUSeconds:
		return &job.LimitError{Key: "cpu_seconds", Value: fmt.Sprintf("%g s", l.CPUSeconds),
			Detail: fmt.Sprintf("killed by %v after %.1f s of CPU", ws.Signal(), cpu.Seconds()), Err: runErr}
	case ws.Signaled() && ws.Signal() == syscall.SIGXFSZ:
		return &job.LimitError{Key: "disk_mb", Value: fmt.Sprintf("%d MB", l.DiskMB),
			Detail: "a file grew past it (SIGXFSZ)", Err: runErr}
	case ooms > 0:
		return &job.LimitError{Key: "memory_mb", Value: fmt.Sprintf("%d MB", l.MemoryMB),
			Detail: fmt.Sprintf("the kernel killed %d process(es) of the job", ooms), Err: runErr}
	}
	if cg != nil && l.Processes > 0 {
		if n := cg.pidsDenied(); n > 0 {
			return &job.LimitError{Key: "processes", Value: strconv.FormatInt(l.Processes, 10),
				Detail: fmt.Sprintf("%d forks refused, then %v", n, runErr), Err: runErr}
		}
	}
	return runErr
}

// jobExit is how the job ended as its namespace's pid 1 reported it;
// it wraps the helper's own *exec.ExitError.
type jobExit struct {
	ws  syscall.WaitStatus
	err error
}

func (e *jobExit) Error() string {
	if e.ws.Signaled() {
		return "signal: " + e.ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(e.ws.ExitStatus())
}

func (e *jobExit) Unwrap() error { return e.err }
