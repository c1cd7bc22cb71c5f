package fit

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/bumpserve/bumpserve/mapper"
)

// Options are how the caller runs a fit; the spec says what to fit.
type Options struct {
	// InputDir is where dataset files live; "" means the current directory.
	InputDir string
	// CPUs is the job's CPU allocation; the spec's options.cpus is capped
	// by it and defaults to it. 0 means 1.
	CPUs int
	// Progress, if set, is called from one goroutine at most once per step.
	Progress func(Progress)
	// Log, if set, receives a human-readable log of the fit.
	Log io.Writer

	// Checkpoint, if set, receives the fit's state every
	// options.checkpoint_seconds (see checkpoint.go) and, for DREAM, the
	// state it ends in. It is called on the fitter's goroutine.
	Checkpoint func(Checkpoint) error
	// Resume is a checkpoint to go on from (an attempt after a requeue);
	// one that is damaged or belongs to another fit is logged and the fit
	// starts fresh.
	Resume []byte
	// Continue makes Resume the final state of an ended DREAM fit, to be
	// continued for the spec's options.samples more draws; then a
	// checkpoint that cannot be used is an error.
	Continue bool
	// Stop, when closed, ends the fit at its next step with what it has:
	// the best point so far and, for DREAM, the draws so far, marked as
	// such (Result.Stopped).
	Stop <-chan struct{}

	checkpointDue func(step int) bool // tests: checkpoint by step
}

// Progress is a snapshot of a running fit.
type Progress struct {
	Step    int                `json:"step"`
	Cost    float64            `json:"cost"` // best chisq so far
	Params  map[string]float64 `json:"params,omitempty"`
	Message string             `json:"message,omitempty"`
}

// outcome is what a fitter found, before uncertainties are computed.
type outcome struct {
	x         []float64
	converged bool
	steps     int
	message   string
	// dream only
	samples [][]float64
	logp    [][]float64
	rhat    []float64 // per free parameter
	ess     []float64
	warning string // why the statistics are not to be trusted
	stopped bool   // ended early by request
}

// runner carries what every fitter needs.
type runner struct {
	ctx  context.Context
	e    *evaluator
	opts FitOptions
	log  io.Writer
	prog func(Progress)
	ckpt *checkpointer
	stop <-chan struct{}
}

type fitterFunc func(r *runner) (*outcome, error)

var fitterFuncs = map[string]fitterFunc{
	"lm":     fitLM,
	"amoeba": fitAmoeba,
	"de":     fitDE,
	"dream":  fitDREAM,
}

// Run loads the spec's data files, fits, and computes uncertainties. It
// returns ctx.Err() soon after ctx is cancelled. The caller's spec is not
// modified.
func Run(ctx context.Context, spec *Spec, opt Options) (*Result, error) {
	s := *spec
	s.Datasets = slices.Clone(spec.Datasets)
	for i := range s.Datasets {
		if err := s.Datasets[i].load(opt.InputDir, fmt.Sprintf("datasets[%d]", i)); err != nil {
			return nil, err
		}
	}
	if err := s.checkUsage(); err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, log: opt.Log, prog: opt.Progress, stop: opt.Stop}
	if err := r.prepareResume(&s, opt); err != nil {
		return nil, err
	}
	s.Options.Seed = chooseSeed(s.Options.Seed)
	p := newProblem(&s)
	cpus := max(opt.CPUs, 1)
	if s.Options.CPUs > 0 {
		cpus = min(cpus, s.Options.CPUs)
	}
	m := mapper.New(cpus)
	defer m.Close()
	r.e, r.opts = newEvaluator(p, m), s.Options
	r.logf("fit: %s, %d parameters (%d free), %d points, %d cpus", s.Fitter, len(p.names), p.dim(), p.ndata, cpus)
	start := time.Now()
	out, err := fitterFuncs[s.Fitter](r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", s.Fitter, err)
	}
	res, err := r.result(&s, out)
	if err != nil {
		return nil, err
	}
	recordProvenance(res, &s, p.dim())
	r.logf("fit: done in %s: chisq %.10g, reduced %.6g, %d evaluations, %s",
		time.Since(start).Round(time.Millisecond), res.Chisq, float64(res.ReducedChisq), res.Evaluations, out.message)
	return res, nil
}

// result computes the chi-square and the covariance at the best point.
func (r *runner) result(s *Spec, out *outcome) (*Result, error) {
	p := r.e.p
	sc := r.e.scratch[0]
	res := &Result{
		Fitter:         s.Fitter,
		Converged:      out.converged,
		Steps:          out.steps,
		Message:        out.message,
		Parameters:     map[string]ParamResult{},
		ParameterOrder: slices.Clone(p.names),
		DOF:            p.ndata - p.dim(),
	}
	rr := make([]float64, p.nres())
	p.residuals(out.x, rr, sc)
	res.Chisq = p.dataChisq(rr)
	res.PriorChisq = sumSq(rr[p.ndata:])
	res.ReducedChisq = Float(math.NaN())
	if res.DOF > 0 {
		res.ReducedChisq = Float(res.Chisq / float64(res.DOF))
	}
	cov, err := r.e.covarianceAt(r.ctx, out.x)
	if err != nil {
		return nil, err
	}
	scale := 1.0
	if s.ScaleErrors && res.DOF > 0 {
		scale = res.Chisq / float64(res.DOF)
	}
	full := make([]float64, len(p.names))
	p.fill(out.x, full)
	freeIdx := map[int]int{}
	for j, k := range p.free {
		freeIdx[k] = j
	}
	for k, name := range p.names {
		j, free := freeIdx[k]
		pr := ParamResult{Value: full[k], Fixed: !free}
		if free {
			pr.Stderr = Float(math.Sqrt(cov[j][j] * scale))
		}
		res.Parameters[name] = pr
	}
	if out.samples != nil {
		addPosterior(res, p, out.samples)
		addDiagnostics(res, p, out.rhat, out.ess)
	}
	res.Warning, res.Stopped = out.warning, out.stopped
	corr := correlation(cov)
	res.Correlation = make([][]Float, len(p.names))
	for k := range p.names {
		res.Correlation[k] = make([]Float, len(p.names))
		for l := range p.names {
			j, okj := freeIdx[k]
			i, oki := freeIdx[l]
			res.Correlation[k][l] = Float(math.NaN())
			if okj && oki {
				res.Correlation[k][l] = Float(corr[j][i])
			}
		}
	}
	res.Evaluations = p.evals.Load()
	res.fit = &fitDetail{p: p, x: out.x, r: rr, samples: out.samples, logp: out.logp}
	return res, nil
}

func (r *runner) logf(format string, args ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, format+"\n", args...)
	}
}

// progress reports a step; params are the free values x.
func (r *runner) progress(step int, cost float64, x []float64, msg string) {
	if r.prog == nil {
		return
	}
	p := r.e.p
	full := make([]float64, len(p.names))
	p.fill(x, full)
	params := make(map[string]float64, len(full))
	for k, name := range p.names {
		params[name] = full[k]
	}
	r.prog(Progress{Step: step, Cost: cost, Params: params, Message: msg})
}
