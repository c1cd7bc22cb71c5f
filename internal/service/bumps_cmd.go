package service

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// bumpsArgs builds bumps' command line: the model and its arguments, then
// --batch, the store, the fitter and exactly the options the spec gave,
// in a fixed order. parallel is false for the serial fallback.
func bumpsArgs(model string, s *BumpsSpec, fitter string, opts map[string]string, store string, parallel bool) []string {
	args := append([]string{model}, s.Args...)
	args = append(args, "--batch", "--store="+store)
	if fitter != "" {
		args = append(args, "--fit="+fitter)
	}
	names := make([]string, 0, len(opts))
	for n := range opts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := opts[n]
		switch {
		case n == "checkpoint_seconds":
			// bumpserve's, not bumps': see bumpsRun.stateArgs.
		case n == "parallel" && (!parallel || v == "1"):
			// One CPU is a serial run; bumps' mapper would only add a
			// process and the pickling it may fail at.
		case bumpsOptions[n].kind == "bool":
			if v == "true" {
				args = append(args, "--"+n)
			}
		default:
			args = append(args, "--"+n+"="+v)
		}
	}
	return args
}

// bumpsEnv is the whole environment of a bumps process: nothing is
// inherited from the service (no tokens, no PYTHONPATH) but the host's
// settings of its numerical libraries (see numericEnv), and HOME, TMPDIR
// and MPLCONFIGDIR point to the job's private temp dir. Thread counts
// are not set here on purpose: OMP_NUM_THREADS changes dream's numbers
// (bumps' compiled sampler draws per OpenMP thread), and a job must give
// what a hand run gives.
func bumpsEnv(env *Env) []string {
	return append(numericEnv(os.Environ()), []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"HOME=" + env.Temp,
		"TMPDIR=" + env.Temp,
		"MPLCONFIGDIR=" + filepath.Join(env.Temp, "matplotlib"),
		"BUMPSERVE_INPUT=" + env.Input,
		"BUMPSERVE_OUTPUT=" + env.Output,
		"BUMPSERVE_STOP=" + filepath.Join(env.Temp, stopName), // see bumps_stop.go
		// input/ is read-only to the job: no __pycache__ beside the
		// model's own modules.
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONUNBUFFERED=1",
	}...)
}

// numericPrefixes name the environment variables that choose how the
// host's numerical libraries compute (OPENBLAS_CORETYPE picks OpenBLAS's
// kernels, OMP_NUM_THREADS the threads dream draws with). A hand run on
// the host sees them, so a job does too: without them OpenBLAS may pick
// other kernels and a fit differs from the hand run in its last digits
// (newton, an ODE model's curve) or, through a fitter's path, further.
var numericPrefixes = []string{"OPENBLAS_", "OMP_", "MKL_", "GOTO_NUM_THREADS="}

// numericEnv keeps from environ the variables numericPrefixes name.
func numericEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		for _, p := range numericPrefixes {
			if strings.HasPrefix(kv, p) {
				out = append(out, kv)
				break
			}
		}
	}
	return out
}

// modelName is the name bumps gives a model's store files: the script's
// base name without .py.
func modelName(model string) string {
	return strings.TrimSuffix(filepath.Base(model), ".py")
}
