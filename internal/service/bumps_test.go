package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/mpi"
	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// A bumps job gives the numbers a hand run of bumps gives with the same
// seed, for models written here and Debian's own examples, each fitter
// quirk included.
func TestBumpsMatchesDirect(t *testing.T) {
	t.Parallel()
	needBumps(t)
	curve := docModel(t, "curve.py")
	docPeak := docModel(t, "peak.py")
	// Jobs of 2 CPUs get a controller of their own: a local pool waiting
	// with one free slot does not notice a 2-CPU job becoming runnable
	// when its other slot frees (a known scheduler bug).
	serial, multi := testenv.Start(t, controller.Config{Workers: 2}), testenv.Start(t, controller.Config{Workers: 2})
	for _, c := range []struct {
		name    string
		files   []string
		spec    string
		direct  []string // bumps options for the hand run
		fitter  string
		message string // words the results' message must hold
	}{
		{"line/amoeba", []string{testModel("line.py")},
			`{"model":"line.py","fitter":"amoeba","options":{"seed":1,"err":true}}`,
			[]string{"--fit=amoeba", "--err", "--seed=1"}, "amoeba", ""},
		{"gaussian-peak-from-file/dream", []string{testModel("gpeak.py"), testModel("gpeak.txt")},
			`{"model":"gpeak.py","fitter":"dream","options":{"samples":4000,"seed":3}}`,
			[]string{"--fit=dream", "--samples=4000", "--seed=3"}, "dream", ""},
		{"doc-curve/dream", []string{curve},
			`{"model":"curve.py","fitter":"dream","options":{"samples":2000,"burn":100,"seed":1}}`,
			[]string{"--fit=dream", "--samples=2000", "--burn=100", "--seed=1"}, "dream", ""},
		{"doc-peak-with-args/amoeba", []string{docPeak},
			`{"model":"peak.py","args":["50"],"options":{"seed":2}}`,
			[]string{"50", "--seed=2"}, "amoeba", ""},
		{"lm-runs-as-scipy.leastsq", []string{curve},
			`{"model":"curve.py","fitter":"lm","options":{"seed":1}}`,
			[]string{"--fit=scipy.leastsq", "--seed=1"}, "scipy.leastsq", "lm runs as scipy.leastsq"},
		{"parallel", []string{testModel("pline.py"), testModel("linefn.py")},
			`{"model":"pline.py","fitter":"dream","options":{"samples":2000,"seed":1,"parallel":2},"resources":{"cpus":2}}`,
			[]string{"--fit=dream", "--samples=2000", "--seed=1"}, "dream", ""},
		{"parallel-falls-back-to-serial", []string{testModel("unpicklable.py")},
			`{"model":"unpicklable.py","fitter":"dream","options":{"samples":2000,"seed":1,"parallel":2},"resources":{"cpus":2}}`,
			[]string{"--fit=dream", "--samples=2000", "--seed=1"}, "dream", "ran serially"},
		// Two MPI ranks (bumps --mpi under mpirun) give the serial hand
		// run's numbers.
		{"mpi-2-tasks/de", []string{testModel("gpeak.py"), testModel("gpeak.txt")},
			`{"model":"gpeak.py","fitter":"de","options":{"steps":60,"seed":3},"resources":{"tasks":2}}`,
			[]string{"--fit=de", "--steps=60", "--seed=3"}, "de", "ran as 2 MPI ranks"},
		{"mpi-2-tasks/dream", []string{testModel("gpeak.py"), testModel("gpeak.txt")},
			`{"model":"gpeak.py","fitter":"dream","options":{"samples":4000,"seed":3},"resources":{"tasks":2}}`,
			[]string{"--fit=dream", "--samples=4000", "--seed=3"}, "dream", "ran as 2 MPI ranks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := serial
			if strings.Contains(c.spec, `"cpus":2`) || strings.Contains(c.spec, `"tasks":2`) {
				env = multi
			}
			if strings.Contains(c.spec, `"tasks"`) {
				testenv.Need(t, mpi.Installed() == nil, "MPI (Debian: openmpi-bin python3-mpi4py python3-dill)")
			}
			cl := env.Client(env.AdminToken)
			j := submitBumps(t, cl, c.spec, c.files...)
			store := direct(t, c.files, c.direct...)
			end, _ := follow(t, cl, j.ID)
			if end.State != job.Complete {
				t.Fatalf("job ended %s: %s", end.State, end.Reason)
			}
			name := strings.TrimSuffix(filepath.Base(c.files[0]), ".py")
			res := sameAsDirect(t, cl, j, store, name, c.fitter)
			msg, _ := res["message"].(string)
			if c.message == "" && msg != "" || !strings.Contains(msg, c.message) {
				t.Errorf("message %q, want %q", msg, c.message)
			}
			if c.message != "" {
				mustContain(t, "job.log", string(download(t, cl, j.ID, "output/job.log")), c.message)
			}
			if res["seed"] == nil {
				t.Errorf("results carry no seed: %v", res)
			}
			// What repeats the fit: the versions and every option, the
			// fitter's defaults included.
			versions, _ := res["versions"].(map[string]any)
			opts, _ := res["options"].(map[string]any)
			if res["engine"] != "bumps" || res["version"] == "" || versions["bumps"] == nil || versions["numpy"] == nil || versions["scipy"] == nil {
				t.Errorf("results lack engine or versions: engine %v, version %v, versions %v", res["engine"], res["version"], versions)
			}
			if opts["seed"] != res["seed"] || (c.fitter == "dream" && (opts["samples"] == nil || opts["burn"] == nil || opts["init"] == nil)) {
				t.Errorf("results' options %v lack the seed %v or the defaults", opts, res["seed"])
			}
			// Every DREAM result carries its convergence checks, Bumps'
			// as well as the native engine's.
			if c.fitter == "dream" {
				params, _ := res["parameters"].(map[string]any)
				for name, p := range params {
					if pm, _ := p.(map[string]any); pm["rhat"] == nil || pm["ess"] == nil {
						t.Errorf("parameter %s lacks rhat or ess: %v", name, p)
					}
				}
				if res["converged"] != true && res["warning"] == nil {
					t.Errorf("not converged and no warning: %v", res)
				}
			}
			png := 0
			files, _ := cl.Files(context.Background(), j.ID)
			for _, f := range files {
				if strings.HasPrefix(f.Path, "output/store/") && strings.HasSuffix(f.Path, ".png") {
					png++
				}
			}
			if png == 0 {
				t.Errorf("no plots among the job's files %v", files)
			}
		})
	}
}

// A running bumps job shows bumps' step and chisq in its events stream,
// and cancelling it kills every process of its tree (bumps --parallel
// forks a manager and worker processes).
func TestBumpsProgressAndCancel(t *testing.T) {
	t.Parallel()
	needBumps(t)
	env := testenv.Start(t, controller.Config{Workers: 2})
	cl := env.Client(env.AdminToken)
	j := submitBumps(t, cl, `{"model":"slow.py","fitter":"dream","options":{"samples":100000,"seed":1,"parallel":2},"resources":{"cpus":2}}`,
		testModel("slow.py"), testModel("linefn.py"))

	// Watch retries on errors from its callback; ending its context is
	// what stops it.
	ctx, cancel := context.WithTimeoutCause(context.Background(), bumpsTimeout, errors.New("no progress in time"))
	defer cancel()
	var steps []int
	_, err := cl.Watch(ctx, j.ID, func(j *client.Job) error {
		if p := j.Progress; j.State == job.Active && p != nil && p.Cost != nil && p.Step > 0 {
			if len(steps) == 0 || steps[len(steps)-1] != p.Step {
				steps = append(steps, p.Step)
			}
		}
		if len(steps) >= 2 {
			cancel()
			return context.Canceled
		}
		return nil
	})
	if len(steps) < 2 {
		t.Fatalf("watch: %v, %v (steps seen %v)", err, context.Cause(ctx), steps)
	}
	if steps[1] <= steps[0] {
		t.Errorf("steps %v do not advance", steps)
	}
	pids := group(t, filepath.Join(env.Data, "jobs", fmt.Sprint(j.ID), "proc.json"))
	if len(pids) < 3 {
		t.Errorf("process group %v: want bumps, its manager and 2 workers", pids)
	}
	if _, err := cl.Cancel(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	end, _ := follow(t, cl, j.ID)
	if end.State != job.Cancel {
		t.Errorf("job ended %s: %s", end.State, end.Reason)
	}
	for _, pid := range pids {
		if !proc.WaitGone(pid, 5*time.Second) {
			t.Errorf("process %d of the job outlived its cancel", pid)
		}
	}
}

// group lists the processes in the process group recorded in pidFile.
func group(t *testing.T, pidFile string) []int {
	t.Helper()
	var rec proc.Record
	testenv.Eventually(t, 10*time.Second, "process recorded", func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && json.Unmarshal(b, &rec) == nil && rec.PID > 0
	})
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[2] == strconv.Itoa(rec.PID) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Each way a bumps job can fail ends in ERROR with a reason that says why.
func TestBumpsFailures(t *testing.T) {
	t.Parallel()
	needBumps(t)
	env := testenv.Start(t, controller.Config{Workers: 2})
	cl := env.Client(env.AdminToken)
	for _, c := range []struct {
		name  string
		files []string
		spec  string
		want  []string
	}{
		{"syntax-error", []string{testModel("syntax.py")}, `{"model":"syntax.py"}`,
			[]string{"SyntaxError", "syntax.py, line 3", "x = [1, 2, 3"}},
		{"exception-while-loading", []string{testModel("raises.py")}, `{"model":"raises.py"}`,
			[]string{"RuntimeError: this model refuses to load", "raises.py, line 3"}},
		{"missing-data-file", []string{testModel("gpeak.py")}, `{"model":"gpeak.py"}`,
			[]string{"model opened gpeak.txt, which was not uploaded; uploaded: gpeak.py (at gpeak.py, line 6"}},
		{"missing-file-by-server-path", []string{testModel("abspath.py"), testModel("gpeak.txt")}, `{"model":"abspath.py"}`,
			[]string{"model opened sub/notes.txt, which was not uploaded; uploaded: abspath.py, gpeak.txt (at abspath.py, line 5"}},
		{"exception-while-fitting", []string{testModel("fitfail.py")}, `{"model":"fitfail.py","options":{"seed":1}}`,
			[]string{"ValueError: model blew up during the fit", "fitfail.py, line 10"}},
		{"wall-limit", []string{testModel("slow.py"), testModel("linefn.py")},
			`{"model":"slow.py","fitter":"dream","options":{"samples":100000},"limits":{"wall_seconds":3}}`,
			[]string{"limit exceeded: wall_seconds (3 s)"}},
		{"cpu-limit", []string{testModel("slow.py"), testModel("linefn.py")},
			`{"model":"slow.py","fitter":"dream","options":{"samples":100000},"limits":{"cpu_seconds":2}}`,
			[]string{"limit exceeded: cpu_seconds (2 s)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			j := submitBumps(t, cl, c.spec, c.files...)
			end, _ := follow(t, cl, j.ID)
			if end.State != job.Error {
				t.Fatalf("job ended %s (%s), want ERROR", end.State, end.Reason)
			}
			mustContain(t, "reason", end.Reason, c.want...)
			if strings.Contains(end.Reason, env.Data) {
				t.Errorf("reason %q names the server's data directory", end.Reason)
			}
		})
	}
	// Refused at submission, before anything runs.
	for spec, want := range map[string]string{
		`{"model":"line.py","args":["--overwrite"]}`:   `spec.args[0]: "--overwrite"`,
		`{"model":"line.py","args":["--help"]}`:        `spec.args[0]: "--help"`,
		`{"model":"line.py","options":{"resume":"-"}}`: "spec.options.resume: unknown option",
		`{"model":"line.py","options":{"parallel":2}}`: "spec.options.parallel: 2 exceeds",
		`{"model":"absent.py"}`:                        "spec.model: absent.py was not uploaded; uploaded: line.py",
	} {
		_, err := cl.Submit(context.Background(), client.Submission{Service: "bumps", Spec: json.RawMessage(spec)}, uploads(testModel("line.py")))
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(ce.Message, want) {
			t.Errorf("submit %s: %v, want 400 with %q", spec, err, want)
		}
	}
}

// bumps in batch mode stops at an earlier fit in its store; the service
// always starts it on a fresh one, so a leftover store does not matter.
func TestBumpsLeftoverStore(t *testing.T) {
	t.Parallel()
	needBumps(t)
	root := t.TempDir()
	env := &service.Env{
		Spec:  json.RawMessage(`{"model":"line.py","options":{"seed":1}}`),
		Input: filepath.Join(root, "input"), Output: filepath.Join(root, "output"), Temp: filepath.Join(root, "tmp"),
		CPUs: 1, Limits: job.Limits{CPUSeconds: 600}, PIDFile: filepath.Join(root, "proc.json"),
		Progress: func(job.Progress) {}, Log: &bytes.Buffer{},
	}
	for _, d := range []string{env.Input, filepath.Join(env.Output, "store"), env.Temp} {
		os.MkdirAll(d, 0o755)
	}
	b, _ := os.ReadFile(testModel("line.py"))
	os.WriteFile(filepath.Join(env.Input, "line.py"), b, 0o444)
	os.WriteFile(filepath.Join(env.Output, "store", "line.par"), []byte("slope 0\nintercept 0\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), bumpsTimeout)
	defer cancel()
	res, err := service.Bumps{}.Run(ctx, env)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, env.Log)
	}
	store := direct(t, []string{testModel("line.py")}, "--seed=1")
	want, _ := os.ReadFile(filepath.Join(store, "line.par"))
	got, _ := os.ReadFile(filepath.Join(env.Output, "store", "line.par"))
	if !bytes.Equal(got, want) || !json.Valid(res) {
		t.Errorf("line.par %q, direct run %q", got, want)
	}
}
