package service

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/internal/bumps"
	"github.com/bumpserve/bumpserve/internal/guard"
)

// DefaultBumpsPath is Debian's python3-bumps command line. It is called by
// path: the python3 first on PATH may be another Python without bumps.
const DefaultBumpsPath = "/usr/bin/bumps"

// Bumps runs a user's Bumps model script with the Bumps command line and
// presents its results like a native fit.
type Bumps struct {
	// Path is the bumps program; empty means DefaultBumpsPath.
	Path string
}

// Name implements Service.
func (Bumps) Name() string { return "bumps" }

// Check implements Service. Whether the model was uploaded is checked
// when the job runs, where its files are.
func (Bumps) Check(raw json.RawMessage) error {
	_, _, err := parseBumps(raw)
	return err
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
	if st, err := os.Stat(model); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("spec.model: no uploaded file %q", spec.Model)
	}
	path := cmp.Or(b.Path, DefaultBumpsPath)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("bumps: %s is not installed on this executor (Debian package python3-bumps)", path)
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
	r := &bumpsRun{b: path, env: env, model: model, spec: spec, fitter: fitter, opts: opts,
		store: filepath.Join(env.Output, storeDir)}
	_, parallel := opts["parallel"]
	parallel = parallel && opts["parallel"] != "1"
	stderr, err := r.run(ctx, parallel)
	if err != nil && parallel && cantPickle(stderr) {
		note := "--parallel could not pickle the model (" + bumps.Digest(stderr) + "); ran serially instead"
		fmt.Fprintln(env.Log, "bumps:", note)
		notes = append(notes, note)
		stderr, err = r.run(ctx, false)
	}
	if err != nil {
		return nil, r.failure(ctx, stderr, err)
	}
	return r.results(cmp.Or(fitter, "amoeba"), notes)
}

// bumpsRun is one job's bumps invocation.
type bumpsRun struct {
	b, model, fitter, store string
	env                     *Env
	spec                    *BumpsSpec
	opts                    map[string]string
	cpu                     *cpuGuard
}

// run runs bumps once into a fresh store and returns its stderr.
func (r *bumpsRun) run(ctx context.Context, parallel bool) (string, error) {
	if err := freshStore(r.store); err != nil {
		return "", fmt.Errorf("prepare bumps store: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(r.env.Temp, "matplotlib"), 0o700); err != nil {
		return "", fmt.Errorf("prepare temp dir: %w", err)
	}
	// Files, not pipes: a pipe would keep Wait waiting on any process
	// that bumps forked and that still holds it.
	out, err := os.Create(filepath.Join(r.env.Output, "bumps-stdout.txt"))
	if err != nil {
		return "", err
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(r.env.Output, "bumps-stderr.txt"))
	if err != nil {
		return "", err
	}
	defer errf.Close()

	args := bumpsArgs(r.model, r.spec, r.fitter, r.opts, r.store, parallel)
	cmd := exec.Command(r.b, args...)
	cmd.Dir = r.env.Output
	cmd.Env = bumpsEnv(r.env)
	cmd.Stdout, cmd.Stderr = out, errf
	fmt.Fprintf(r.env.Log, "bumps: %s %s\n", r.b, strings.Join(args, " "))

	r.cpu = watchCPU(r.env.Limits.CPUSeconds, r.env.PIDFile)
	monDone := make(chan struct{})
	// It parses what the job writes: a panic there must end only itself.
	guard.Go(slog.Default(), "bumps progress watch", func() {
		watchMon(filepath.Join(r.store, modelName(r.model)+".mon"), r.env.Progress, monDone)
	})
	err = r.env.Command(ctx, cmd)
	close(monDone)
	r.cpu.stop()
	stderr, _ := os.ReadFile(errf.Name())
	return string(stderr), err
}

// cantPickle recognises bumps' --parallel failing to send a model whose
// function is defined in the model file to its worker processes.
func cantPickle(stderr string) bool {
	return strings.Contains(stderr, "PicklingError") || strings.Contains(stderr, "Can't pickle")
}

// failure turns a failed run into the job's reason: the limit that
// stopped it, or the decisive lines of bumps' stderr.
func (r *bumpsRun) failure(ctx context.Context, stderr string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if r.cpu.stoppedIt(err) {
		return fmt.Errorf("limit exceeded: cpu_seconds (%g s)", r.env.Limits.CPUSeconds)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("bumps: %w", err)
	}
	digest := bumps.Digest(stderr)
	if digest == "" {
		digest = "no message on stderr (see output/bumps-stdout.txt)"
	}
	fmt.Fprintf(r.env.Log, "bumps: %v; stderr:\n%s\n", ee, stderr)
	return fmt.Errorf("bumps failed (%v): %s", ee, digest)
}

// results reads the store into the results document and also writes it
// to output/results.json.
func (r *bumpsRun) results(fitter string, notes []string) (json.RawMessage, error) {
	res, err := bumps.Load(r.store, modelName(r.model), fitter)
	if err != nil {
		return nil, fmt.Errorf("read bumps results: %w", err)
	}
	if out, err := os.ReadFile(filepath.Join(r.env.Output, "bumps-stdout.txt")); err == nil {
		if s, ok := bumps.Seed(string(out)); ok {
			res.Seed = &s
		}
	}
	res.Message = strings.Join(notes, "; ")
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, b, "", "  ")
	pretty.WriteByte('\n')
	if err := os.WriteFile(filepath.Join(r.env.Output, "results.json"), pretty.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write results: %w", err)
	}
	return b, nil
}
