package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// Fit is the native fitting service: a math-expression model fitted to
// one or more datasets by the engine in package fit, with no Python.
type Fit struct{}

// Name implements Service.
func (Fit) Name() string { return "fit" }

// Check implements Service. Data files named by the spec are read as the
// fit will read them, so a bad cell or a file that was not uploaded is
// refused now, naming file, line and column.
func (Fit) Check(raw json.RawMessage, input string) error {
	s, err := parseFit(raw)
	if err != nil {
		return err
	}
	return specErr(s.CheckFiles(input))
}

func parseFit(raw json.RawMessage) (*fit.Spec, error) {
	s, err := fit.ParseSpec(raw)
	if err != nil {
		return nil, specErr(err)
	}
	return s, nil
}

// Run implements Service: fit, write results.json, .par, .err and the
// plots into output/, and return the results document.
func (Fit) Run(ctx context.Context, env *Env) (json.RawMessage, error) {
	spec, err := parseFit(env.Spec)
	if err != nil {
		return nil, err
	}
	logw := env.Log
	if logw == nil {
		logw = io.Discard
	}
	ck := checkpointIO{dir: env.JobDir(), log: func(format string, a ...any) { fmt.Fprintf(logw, format+"\n", a...) }, sent: env.Checkpointed}
	resume, cont, err := ck.load()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	defer close(done)
	res, err := fit.Run(ctx, spec, fit.Options{
		InputDir: env.Input,
		CPUs:     env.CPUs,
		Log:      env.Log,
		Progress: func(p fit.Progress) {
			cost := p.Cost
			env.Progress(job.Progress{Step: p.Step, Cost: &cost, Params: p.Params, Message: p.Message})
		},
		Checkpoint: ck.save,
		Resume:     resume,
		Continue:   cont,
		Stop:       stopSignal(ck.dir, env.Stop, done),
	})
	if err != nil {
		return nil, err
	}
	if spec.Fitter != "dream" {
		// Only a DREAM fit can be continued; an optimiser's checkpoint
		// has served its purpose once the fit has ended.
		jobfs.RemoveAll(ck.dir, CheckpointFile)
	}
	if err := fit.WriteOutputs(env.Output, spec, res); err != nil {
		return nil, fmt.Errorf("write outputs: %w", err)
	}
	return json.Marshal(res)
}

// specErr words an error of package fit, whose paths are relative to
// the spec ("datasets[0].model: ..."), with the submission's "spec." path;
// errors about the spec's top level already start with it.
func specErr(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); strings.HasPrefix(msg, "spec.") || strings.HasPrefix(msg, "spec:") {
		return err
	}
	return fmt.Errorf("spec.%w", err)
}
