package service

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/internal/bumps"
	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/mpi"
	"github.com/bumpserve/bumpserve/internal/version"
)

// DefaultBumpsPath is Debian's python3-bumps command line; a job runs
// what it runs (bumps.cli.main) with DefaultBumpsPython, after the hooks
// of bootScript, and its presence says bumps is installed.
const DefaultBumpsPath = "/usr/bin/bumps"

// Bumps runs a user's Bumps model script with the Bumps command line and
// presents its results like a native fit.
type Bumps struct{}

// Name implements Service.
func (Bumps) Name() string { return "bumps" }

// RunsTasks implements TaskRunner: a job of several tasks runs them as
// MPI ranks of one bumps --mpi fit (see bumps_mpi.go).
func (Bumps) RunsTasks() bool { return true }

// Check implements Service. The model must be among the uploads; which
// data files it opens only running it tells (see missingInput).
func (Bumps) Check(raw json.RawMessage, input string) error {
	s, _, err := parseBumps(raw)
	if err != nil {
		return err
	}
	if !uploaded(input, s.Model) {
		return fmt.Errorf("spec.model: %s was not uploaded; uploaded: %s", s.Model, jobdir.Uploaded(input))
	}
	return nil
}

// storeDir is the bumps store under output/: every file bumps saves,
// plots included, is listed with the job's files.
const storeDir = "store"

// Run implements Service: run bumps on the model in input/, report its
// progress, and read its store into the results.
func (b Bumps) Run(ctx context.Context, env *Env) (json.RawMessage, error) {
	spec, opts, err := parseBumps(env.Spec)
	if err != nil {
		return nil, err
	}
	model := filepath.Join(env.Input, spec.Model)
	if !uploaded(env.Input, spec.Model) {
		return nil, fmt.Errorf("spec.model: %s was not uploaded; uploaded: %s", spec.Model, jobdir.Uploaded(env.Input))
	}
	if _, err := exec.LookPath(DefaultBumpsPath); err != nil {
		return nil, fmt.Errorf("bumps: %s is not installed on this executor (Debian package python3-bumps)", DefaultBumpsPath)
	}
	fitter, notes := spec.Fitter, []string(nil)
	if fitter == "lm" {
		// Debian's bumps 0.9 lm uses numpy.float, gone from its numpy;
		// scipy.leastsq is the same MINPACK Levenberg-Marquardt.
		fitter = "scipy.leastsq"
		notes = append(notes, "fitter lm runs as scipy.leastsq (bumps 0.9's lm crashes with this numpy)")
	}
	if p, ok := opts["parallel"]; ok {
		// Check saw resources.cpus; the executor may have granted fewer.
		if n, _ := strconv.Atoi(p); n > max(env.CPUs, 1) {
			return nil, fmt.Errorf("spec.options.parallel: %d exceeds the job's %d CPUs", n, max(env.CPUs, 1))
		}
	}
	for _, n := range notes {
		fmt.Fprintln(env.Log, "bumps:", n)
	}
	out, err := jobfs.OpenDir(env.Output)
	if err != nil {
		return nil, fmt.Errorf("bumps: %w", err)
	}
	defer out.Close()
	r := &bumpsRun{env: env, stop: &stopWatch{env: env}, model: model, spec: spec, fitter: fitter, opts: opts,
		store: filepath.Join(env.Output, storeDir), out: out, ranks: job.Tasks(env.Spec)}
	if r.extra, err = r.stateArgs(); err != nil {
		return nil, err
	}
	start, err := r.startArgs()
	if err != nil {
		return nil, err
	}
	r.extra = append(r.extra, start...)
	if r.ranks > 1 {
		if err := mpi.Installed(); err != nil {
			return nil, fmt.Errorf("bumps: resources.tasks %d: %w", r.ranks, err)
		}
		note := fmt.Sprintf("ran as %d MPI ranks (bumps --mpi)", r.ranks)
		fmt.Fprintln(env.Log, "bumps:", note)
		notes = append(notes, note)
	}
	if err := r.stop.clear(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	defer close(done)
	r.stop.watch(stopSignal(env.JobDir(), env.Stop, done), done)
	_, parallel := opts["parallel"]
	parallel = parallel && opts["parallel"] != "1"
	stderr, err := r.run(ctx, parallel)
	if err != nil && parallel && cantPickle(stderr) {
		note := "--parallel could not pickle the model (" + bumps.Digest(stderr) + "); ran serially instead"
		fmt.Fprintln(env.Log, "bumps:", note)
		notes = append(notes, note)
		stderr, err = r.run(ctx, false)
	}
	ran := cmp.Or(fitter, "amoeba") // bumps' default fitter
	if err != nil && r.stopped && ctx.Err() == nil {
		// Stopped within its first steps, bumps 0.9's DREAM writes its
		// results and then fails drawing plots of one generation: what
		// it wrote stands, with bumps' complaint beside it.
		if res, rerr := r.results(ran, append(notes, "bumps failed after the stop: "+bumps.Digest(stderr))); rerr == nil {
			return res, nil
		}
	}
	if err != nil {
		return nil, r.failure(ctx, stderr, err)
	}
	return r.results(ran, notes)
}

// bumpsRun is one job's bumps invocation.
type bumpsRun struct {
	model, fitter, store string
	env                  *Env
	spec                 *BumpsSpec
	opts                 map[string]string
	extra                []string // checkpoint and resume (stateArgs)
	cpu                  *cpuGuard
	// ranks > 1 runs bumps --mpi as that many MPI ranks under mpirun.
	ranks int
	// stop passes a stop request on to bumps; stopped says it reached
	// the last run before that run ended.
	stop    *stopWatch
	stopped bool
	// out is output/, where the job's processes write too: every access
	// to it goes through the one door (package jobfs).
	out *jobfs.Dir
}

// The files bumpserve makes and reads in output/ for a bumps run.
const (
	stdoutFile  = "bumps-stdout.txt"
	stderrFile  = "bumps-stderr.txt"
	resultsFile = "results.json"
	// maxStderr is how much of stderr is read for the reason: its end
	// holds the traceback.
	maxStderr = 256 << 10
	// maxStdout bounds the stdout read for the seed bumps printed.
	maxStdout = 16 << 20
)

// run runs bumps once into a fresh store and returns its stderr.
func (r *bumpsRun) run(ctx context.Context, parallel bool) (string, error) {
	// On the serial rerun these names hold what the first run's job
	// left, maybe links or FIFOs: they go (never followed; the job's
	// processes are all dead), and new files are made O_EXCL.
	for _, name := range []string{storeDir, stdoutFile, stderrFile} {
		if err := r.out.RemoveAll(name); err != nil {
			return "", fmt.Errorf("prepare bumps output: %w", err)
		}
	}
	if err := r.env.MkdirTemp("matplotlib"); err != nil {
		return "", err
	}
	// Files, not pipes: a pipe would keep Wait waiting on any process
	// that bumps forked and that still holds it.
	out, err := r.out.Create(stdoutFile, 0o644)
	if err != nil {
		return "", err
	}
	defer out.Close()
	errf, err := r.out.Create(stderrFile, 0o644)
	if err != nil {
		return "", err
	}
	defer errf.Close()

	args := append(bumpsArgs(r.model, r.spec, r.fitter, r.opts, r.store, parallel), r.extra...)
	cmd := exec.Command(DefaultBumpsPython, append([]string{"-c", bootScript(false)}, args...)...)
	cmd.Env = bumpsEnv(r.env)
	if r.ranks > 1 {
		cmd = r.mpiCommand(args)
	}
	cmd.Dir = r.env.Output
	cmd.Stdout, cmd.Stderr = out, errf
	fmt.Fprintf(r.env.Log, "bumps: %s\n", strings.Join(cmd.Args, " "))

	r.cpu = watchCPU(r.env.Limits.CPUSeconds, r.env.PIDFile)
	monDone := make(chan struct{})
	// It parses what the job writes: a panic there must end only itself.
	guard.Go(slog.Default(), "bumps progress watch", func() {
		watchMon(r.out, storeDir+"/"+modelName(r.model)+".mon", r.env.Progress, monDone)
	})
	if r.fitter == "dream" {
		guard.Go(slog.Default(), "bumps state watch", func() { r.watchState(r.keepState, monDone) })
	}
	err = r.env.Command(ctx, cmd)
	// A stop passed on after bumps ended did not end it.
	r.stopped = r.stop.sent.Load()
	close(monDone)
	r.cpu.stop()
	// What the job left under the name is read through the door: a
	// link or FIFO there ends the job with that as its reason.
	stderr, _, rerr := r.out.Tail(stderrFile, maxStderr)
	if rerr != nil && ctx.Err() == nil {
		return "", &refusedError{rerr}
	}
	return string(stderr), err
}

// refusedError is a file of the job the root side would not read: it is
// the job's reason as it stands.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// cantPickle recognises bumps' --parallel failing to send a model to its
// worker processes: without dill, any model whose function is defined in
// the model file; with dill, one holding what even dill cannot pickle
// ("cannot pickle 'generator' object").
func cantPickle(stderr string) bool {
	return strings.Contains(stderr, "PicklingError") || strings.Contains(stderr, "Can't pickle") ||
		strings.Contains(stderr, "cannot pickle")
}

// failure turns a failed run into the job's reason: the limit that
// stopped it, or the decisive lines of bumps' stderr.
func (r *bumpsRun) failure(ctx context.Context, stderr string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		return refused.err
	}
	var lim *job.LimitError
	if errors.As(err, &lim) {
		return lim // the sandbox saw which limit ended it
	}
	if r.cpu.stoppedIt(err) {
		return fmt.Errorf("limit exceeded: cpu_seconds (%g s)", r.env.Limits.CPUSeconds)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("bumps: %w", err)
	}
	fmt.Fprintf(r.env.Log, "bumps: %v; stderr:\n%s\n", err, stderr)
	if name, where, ok := bumps.MissingFile(stderr); ok {
		return r.missingInput(name, where)
	}
	digest := bumps.Digest(stderr)
	if digest == "" {
		digest = "no message on stderr (see output/bumps-stdout.txt)"
	}
	// One allocation past the address-space backstop (see package
	// sandbox) fails in Python as MemoryError (numpy's _ArrayMemoryError
	// too) before the memory cgroup sees it: memory_mb ended the job all
	// the same, and another attempt would end the same way.
	if m := r.env.Limits.MemoryMB; m > 0 && strings.Contains(digest, "MemoryError") {
		return &job.LimitError{Key: "memory_mb", Value: fmt.Sprintf("%d MB", m), Detail: digest, Err: err}
	}
	return fmt.Errorf("bumps failed (%v): %s", err, digest)
}

// missingInput words a model's failure to open a file that is not there
// in the user's terms: the name as uploaded, what was uploaded, and where
// in the model, never a path on the server.
func (r *bumpsRun) missingInput(name, where string) error {
	name = bumps.InputName(name, r.env.Input)
	msg := fmt.Sprintf("model opened %s, which was not uploaded; uploaded: %s", name, jobdir.Uploaded(r.env.Input))
	if where != "" {
		msg += " (at " + where + ")"
	}
	return errors.New(msg)
}

// results reads the store into the results document and also writes it
// to output/results.json.
func (r *bumpsRun) results(fitter string, notes []string) (json.RawMessage, error) {
	store, err := r.out.Sub(storeDir)
	if err != nil {
		return nil, fmt.Errorf("read bumps results: %w", err)
	}
	defer store.Close()
	res, err := bumps.Load(store, modelName(r.model), fitter)
	if err != nil {
		return nil, fmt.Errorf("read bumps results: %w", err)
	}
	if r.stopped {
		burn := bumpsDefaultBurn
		if b, err := strconv.Atoi(r.opts["burn"]); err == nil {
			burn = b
		}
		if err := bumps.MarkStopped(store, modelName(r.model), res, burn); err != nil {
			return nil, fmt.Errorf("read bumps results: %w", err)
		}
	}
	out, err := r.out.ReadFile(stdoutFile, maxStdout)
	if err != nil && !errors.Is(err, jobfs.ErrTooLarge) {
		return nil, err
	}
	if s, ok := bumps.Seed(string(out)); ok {
		res.Seed = &s
	}
	if res.Message != "" {
		notes = append(notes, res.Message)
	}
	res.Message = strings.Join(notes, "; ")
	res.Version, res.Engine = version.String(), "bumps"
	info, err := loadBumpsInfo()
	if err != nil {
		fmt.Fprintf(r.env.Log, "bumps: %v\n", err) // the fit stands without them
	} else {
		res.Versions = info.Versions
	}
	res.Options = info.options(fitter, r.opts, res.Seed)
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, b, "", "  ")
	pretty.WriteByte('\n')
	// The job's processes are all dead: O_EXCL refuses whatever one of
	// them left under the name, and nothing is written through a link.
	if err := r.out.WriteFile(resultsFile, pretty.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write results: %w", err)
	}
	return b, nil
}

// uploaded says whether input/ holds the regular file name, reached
// through no link.
func uploaded(input, name string) bool {
	d, err := jobfs.OpenDir(input)
	if err != nil {
		return false
	}
	defer d.Close()
	info, err := d.Lstat(name)
	return err == nil && info.Mode().IsRegular()
}
