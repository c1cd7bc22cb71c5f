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
	"github.com/bumpserve/bumpserve/internal/service"
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
	Logger       *slog.Logger
}

// Sandbox runs job processes confined; it implements service.Runner.
type Sandbox struct {
	helper string
	system []string
	host   host
	prot   []string
	users  *users // nil unless root
	refuse error  // why Run refuses every job (Config.Require unmet)
	log    *slog.Logger
}

var _ service.Runner = (*Sandbox)(nil)

// New probes the host once (Landlock ABI, seccomp, root, cgroup layout),
// sweeps the cgroups a crashed predecessor with the same UIDs left, and
// returns a Sandbox. One executor owns a UID range: a second Sandbox on
// the same range would sweep the first one's running jobs.
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
	s.host = probeHost("bumpserve-" + strconv.Itoa(cfg.UIDs[0]))
	if cfg.Unprivileged {
		s.host.root = false
	}
	if s.host.root {
		s.users = u
		if s.host.cgErr != nil {
			log.Warn("cgroups unavailable", "err", s.host.cgErr)
		}
		if n, err := s.host.cg.sweep(); n > 0 || err != nil {
			log.Warn("swept job cgroups left by an earlier run", "killed", n, "err", err)
		}
	}
	s.prot = s.host.protections()
	miss, err := missing(cfg.Require, s.prot)
	if err != nil {
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
// ended; the Sandbox must not run jobs afterwards.
func (s *Sandbox) Close() error {
	s.host.cg.close()
	return nil
}

// Available lists the protections this host gives every job.
func (s *Sandbox) Available() []string { return slices.Clone(s.prot) }

// Run implements service.Runner: it runs cmd confined as the job of env,
// records it in env.PIDFile, waits for it, kills everything it started
// when it ends or ctx ends, and adds the protections to env.Protections.
// cmd.Env nil gives the job a minimal environment, never the executor's.
// A limit the job hit is named in the error.
func (s *Sandbox) Run(ctx context.Context, cmd *exec.Cmd, env *service.Env) error {
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
		Path: cmd.Path, Args: slices.Clone(cmd.Args), Env: jobEnv(cmd.Env, env),
		Dir:       cmp.Or(cmd.Dir, env.Temp),
		ReadOnly:  append(slices.Clone(s.system), env.Input),
		ReadWrite: []string{env.Output, env.Temp},
		Landlock:  s.host.landlock > 0, Seccomp: s.host.seccomp,
		ParentPID: os.Getpid(),
	}
	if len(sp.Args) == 0 {
		sp.Args = []string{cmd.Path}
	}
	attr := &syscall.SysProcAttr{Setsid: true}
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
		for _, d := range []string{env.Output, env.Temp} {
			if err := chownTree(d, uid); err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
		}
		sp.UID, sp.MountNS = uid, true
		attr.Cloneflags = syscall.CLONE_NEWNS | syscall.CLONE_NEWNET
		if s.host.cg.memory != "" || s.host.cg.pids != "" || s.host.cg.kill != "" {
			cg, err = s.host.cg.create("job-"+strconv.Itoa(uid), env.Limits.MemoryMB, env.Limits.Processes)
			if err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
			defer cg.destroy()
			sp.Cgroups = cg.procsFiles()
		}
	} else {
		// RLIMIT_NPROC counts every task of the shared user.
		extraProcs = userTasks(os.Getuid())
	}
	sp.Rlimits = jobRlimits(env.Limits, extraProcs)

	statusR, statusW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer statusR.Close()
	sp.StatusFD = 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, statusW)
	cmd.Path, cmd.Args = s.helper, []string{s.helper, "sandbox-exec", sp.encode()}
	cmd.Env, cmd.Dir = []string{}, "/"
	cmd.SysProcAttr = attr
	// A daemon holding the job's stdout must not keep Wait from returning.
	cmd.WaitDelay = cmp.Or(cmd.WaitDelay, time.Second)
	for _, p := range s.prot {
		if !slices.Contains(env.Protections, p) {
			env.Protections = append(env.Protections, p)
		}
	}

	if env.Limits.DiskMB > 0 {
		var stopJob context.CancelCauseFunc
		ctx, stopJob = context.WithCancelCause(ctx)
		defer stopJob(nil)
		go watchDisk(ctx, env.Limits.DiskMB, []string{env.Output, env.Temp}, stopJob)
	}
	runErr := proc.Run(ctx, cmd, env.PIDFile)
	statusW.Close()
	if cg != nil {
		cg.kill()
	}
	status, _ := io.ReadAll(statusR)
	return explain(runErr, status, cg, env.Limits)
}

// jobEnv is the job's environment: base (or, when nil, a minimal one),
// with BUMPSERVE_INPUT and BUMPSERVE_OUTPUT set and HOME, TMPDIR and
// MPLCONFIGDIR pointing into the private temp dir unless the service
// chose them (bumps puts matplotlib's in a subdirectory).
func jobEnv(base []string, env *service.Env) []string {
	if base == nil {
		base = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	}
	forced := map[string]string{"BUMPSERVE_INPUT": env.Input, "BUMPSERVE_OUTPUT": env.Output}
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
			out = append(out, k+"="+env.Temp)
		}
	}
	return append(out, "BUMPSERVE_INPUT="+env.Input, "BUMPSERVE_OUTPUT="+env.Output)
}

// explain turns how the job ended into the error its record shows: the
// helper's own failure, or a limit the job hit, named as the executor
// names limits ("limit exceeded: cpu_seconds (2 s)").
func explain(runErr error, status []byte, cg *jobCgroup, l job.Limits) error {
	if len(status) > 0 {
		return fmt.Errorf("sandbox: %s", status)
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return runErr // nil, or why ctx ended
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	cpu := ee.UserTime() + ee.SystemTime()
	ooms := 0
	if cg != nil {
		ooms = cg.oomKills() // memory.events, read once
	}
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGXCPU,
		ws.Signaled() && ws.Signal() == syscall.SIGKILL && l.CPUSeconds > 0 && cpu.Seconds() >= l.CPUSeconds:
		return fmt.Errorf("limit exceeded: cpu_seconds (%g s): killed by %v after %.1f s of CPU", l.CPUSeconds, ws.Signal(), cpu.Seconds())
	case ws.Signaled() && ws.Signal() == syscall.SIGXFSZ:
		return fmt.Errorf("limit exceeded: disk_mb (%d MB): a file grew past it (SIGXFSZ)", l.DiskMB)
	case ooms > 0:
		return fmt.Errorf("limit exceeded: memory_mb (%d MB): the kernel killed %d process(es) of the job: %w", l.MemoryMB, ooms, runErr)
	}
	if cg != nil {
		if n := cg.pidsDenied(); n > 0 {
			return fmt.Errorf("%w (the processes limit of %d refused %d forks)", runErr, l.Processes, n)
		}
	}
	return runErr
}
