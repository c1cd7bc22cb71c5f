package bumps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// Result is a Bumps fit presented like a native one (fit.Result). The
// seed bumps used (the spec's, or the one bumps chose and printed) goes in
// fit.Result.Seed, read from bumps' stdout by the caller (see Seed).
type Result struct {
	fit.Result
	// Constraints is the penalty the model's constraints function adds
	// at the best point (bumps' "constraints=" figure); chisq is the
	// data's alone, as for a native fit's priors.
	Constraints float64 `json:"constraints,omitempty"`
}

// Load reads the fit of model name (the script's base name without .py)
// from a bumps store directory. fitter is the name bumps was run with.
//
// Values come from the .par file (the best point, 15 digits); for
// dream, the best point from <name>-err.json (full precision), posterior statistics from <name>-err.json and stderr = the
// posterior's std; for other fitters, stderr from the --err curvature
// table when it was asked for, else null. chisq is the plain sum of
// squared weighted residuals from the .dat files when the model writes
// them as x y dy fy, else 2·nllf from the .err summary (equal for
// Gaussian data; bumps' nllf also holds the constraints' penalty, which is
// taken off first); dof is the number of data rows less the fitted
// parameters, or, without .dat rows, 2·nllf over the reduced chisq.
//
// The store was written by the job: its files are read through the one
// door (package jobfs), each capped at maxStoreFile.
func Load(store *jobfs.Dir, name, fitter string) (*Result, error) {
	parText, err := store.ReadFile(name+".par", maxStoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bumps wrote no parameters: %w", err)
	}
	if err != nil {
		return nil, err
	}
	pars, err := ParsePar(bytes.NewReader(parText))
	if err != nil {
		return nil, err
	}
	errText, err := store.ReadFile(name+".err", maxStoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bumps wrote no summary: %w", err)
	}
	if err != nil {
		return nil, err
	}
	sum, err := ParseSummary(string(errText))
	if err != nil {
		return nil, fmt.Errorf("%s.err: %v", name, err)
	}
	mon, err := optional(store, name+".mon") // progress and --err table
	if err != nil {
		return nil, err
	}

	res := &Result{Result: fit.Result{
		Fitter:     fitter,
		Converged:  !NotConverged(string(mon)),
		Parameters: map[string]fit.ParamResult{},
	}}
	// Steps come from dream's plan, not the last progress line, which
	// depends on timing.
	if n, ok := PlannedSteps(string(mon)); ok {
		res.Steps = n
	}
	post, err := readPosterior(store, name+"-err.json")
	if err != nil {
		return nil, err
	}
	curv := Curvature(string(mon))
	for _, p := range pars {
		pr := fit.ParamResult{Value: p.Value, Stderr: fit.Float(math.NaN())}
		if u, ok := curv[p.Label]; ok {
			pr.Stderr = fit.Float(u)
		}
		if q, ok := post[p.Label]; ok {
			// -err.json holds the best point to full precision, .par to 15 digits.
			pr.Value = float64(q.Best)
			pr.Stderr = q.Std
			pr.Mean, pr.Median, pr.Std = ptr(q.Mean), ptr(q.Median), ptr(q.Std)
			pr.P68 = &[2]float64{float64(q.P68[0]), float64(q.P68[1])}
			pr.P95 = &[2]float64{float64(q.P95[0]), float64(q.P95[1])}
		}
		if _, dup := res.Parameters[p.Label]; dup {
			return nil, fmt.Errorf("%s.par: parameter label %q appears twice", name, p.Label)
		}
		res.Parameters[p.Label] = pr
		res.ParameterOrder = append(res.ParameterOrder, p.Label)
	}
	if post != nil {
		diagnose(store, name, res)
	}
	dataNLLF := sum.NLLF - sum.Constraints
	chisq, rows, err := datChisq(store, name)
	if err != nil {
		return nil, err
	}
	// An infinite nllf means the constraints passed the soft limit and
	// bumps did not evaluate the model; the .dat still holds its fit.
	if rows == 0 || (!agrees(chisq, 2*dataNLLF) && !math.IsInf(dataNLLF, 0)) {
		chisq, rows = 2*dataNLLF, 0
	}
	if math.IsInf(chisq, 0) || math.IsNaN(chisq) {
		return nil, fmt.Errorf("%s.err: bumps reports nllf=%g and wrote no x y dy fy data to compute chisq from", name, sum.NLLF)
	}
	res.Chisq = chisq
	if sum.Constraints != 0 {
		res.Constraints = sum.Constraints
		res.Message = fmt.Sprintf("the best point violates the model's constraints (penalty %g)", sum.Constraints)
	}
	switch {
	case rows > len(pars):
		res.DOF = rows - len(pars)
	case sum.ReducedChisq > 0:
		res.DOF = int(math.Round(2 * sum.NLLF / sum.ReducedChisq))
	}
	res.ReducedChisq = fit.Float(math.NaN())
	if res.DOF > 0 {
		res.ReducedChisq = fit.Float(res.Chisq / float64(res.DOF))
	}
	return res, nil
}

func ptr(f fit.Float) *float64 { v := float64(f); return &v }

// maxStoreFile bounds each store file read: a dream .mon or -err.json of
// a long fit is a few MB.
const maxStoreFile = 64 << 20

// optional reads a store file that bumps may not write: a missing one is
// empty, but one the door refuses (a link, a FIFO) is an error.
func optional(store *jobfs.Dir, rel string) ([]byte, error) {
	b, err := store.ReadFile(rel, maxStoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func readPosterior(store *jobfs.Dir, rel string) (map[string]Posterior, error) {
	b, err := optional(store, rel) // only dream writes it
	if b == nil || err != nil {
		return nil, err
	}
	return ParseErrJSON(b)
}

// datChisq sums over <name>.dat or, for a MultiFitProblem, <name>-1.dat,
// <name>-2.dat, ...; rows is 0 when any file is not in x y dy fy form.
func datChisq(store *jobfs.Dir, name string) (float64, int, error) {
	files := []string{name + ".dat"}
	if _, err := store.Lstat(files[0]); err != nil {
		files = nil
		for i := 1; ; i++ {
			f := fmt.Sprintf("%s-%d.dat", name, i)
			if _, err := store.Lstat(f); err != nil {
				break
			}
			files = append(files, f)
		}
	}
	total, rows := 0.0, 0
	for _, f := range files {
		b, err := store.ReadFile(f, maxStoreFile)
		if err != nil {
			return 0, 0, err
		}
		s, n, ok := DatChisq(bytes.NewReader(b))
		if !ok {
			return 0, 0, nil
		}
		total, rows = total+s, rows+n
	}
	return total, rows, nil
}

// agrees checks the .dat sum against 2·nllf, which bumps prints with six
// significant digits: a model whose likelihood is not Gaussian (Poisson,
// priors) differs, and then its own nllf is the honest figure.
func agrees(a, b float64) bool {
	return math.Abs(a-b) <= 1e-5*math.Max(math.Abs(a), math.Abs(b))+1e-9
}
