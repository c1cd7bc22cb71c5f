package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/job"
)

// Fit is the native fitting service: a math-expression model fitted to
// one or more datasets by the engine in package fit, with no Python.
type Fit struct{}

// Name implements Service.
func (Fit) Name() string { return "fit" }

// Check implements Service. Data files named by the spec are read only
// when the job runs.
func (Fit) Check(raw json.RawMessage) error {
	_, err := parseFit(raw)
	return err
}

func parseFit(raw json.RawMessage) (*fit.Spec, error) {
	s, err := fit.ParseSpec(raw)
	if err != nil {
		return nil, fmt.Errorf("spec.%v", err)
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
	res, err := fit.Run(ctx, spec, fit.Options{
		InputDir: env.Input,
		CPUs:     env.CPUs,
		Log:      env.Log,
		Progress: func(p fit.Progress) {
			cost := p.Cost
			env.Progress(job.Progress{Step: p.Step, Cost: &cost, Params: p.Params, Message: p.Message})
		},
	})
	if err != nil {
		return nil, err
	}
	if err := fit.WriteOutputs(env.Output, spec, res); err != nil {
		return nil, fmt.Errorf("write outputs: %w", err)
	}
	return json.Marshal(res)
}
