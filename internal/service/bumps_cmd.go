package service

import (
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
// inherited from the service (no tokens, no PYTHONPATH), and HOME, TMPDIR
// and MPLCONFIGDIR point to the job's private temp dir. Thread counts
// are left alone on purpose: OMP_NUM_THREADS changes dream's numbers
// (bumps' compiled sampler draws per OpenMP thread), and a job must give
// what a hand run gives.
func bumpsEnv(env *Env) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"HOME=" + env.Temp,
		"TMPDIR=" + env.Temp,
		"MPLCONFIGDIR=" + filepath.Join(env.Temp, "matplotlib"),
		"BUMPSERVE_INPUT=" + env.Input,
		"BUMPSERVE_OUTPUT=" + env.Output,
		// input/ is read-only to the job: no __pycache__ beside the
		// model's own modules.
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONUNBUFFERED=1",
	}
}

// modelName is the name bumps gives a model's store files: the script's
// base name without .py.
func modelName(model string) string {
	return strings.TrimSuffix(filepath.Base(model), ".py")
}
