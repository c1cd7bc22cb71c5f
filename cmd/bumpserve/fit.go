package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/bumpserve/bumpserve/fit"
)

const fitUsage = `fit [--cpus N] [--output DIR] [--progress] SPEC.json

Runs a native fit here, with no server: exactly one JSON document, the
results, on standard output; the fit log on standard error. Data files
named in the spec are read from the spec file's directory. With --output,
also writes results.json, .par, .err and SVG plots into DIR.`

func runFit(ctx context.Context, args []string) error {
	fs := newFlags("fit", fitUsage)
	cpus := fs.Int("cpus", runtime.NumCPU(), "CPUs the mapper may use (the spec's options.cpus is capped by this)")
	output := fs.String("output", "", "directory for results.json, .par, .err and plots")
	progress := fs.Bool("progress", false, "print progress to standard error")
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("fit: expected one spec file")
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return usagef("spec: %v", err)
	}
	spec, err := fit.ParseSpec(raw)
	if err != nil {
		return usagef("spec %s: %v", pos[0], err)
	}
	opt := fit.Options{InputDir: filepath.Dir(pos[0]), CPUs: *cpus, Log: os.Stderr}
	if *progress {
		opt.Progress = func(p fit.Progress) { fmt.Fprintf(os.Stderr, "step %d  chisq %.8g\n", p.Step, p.Cost) }
	}
	res, err := fit.Run(ctx, spec, opt)
	if err != nil {
		return err
	}
	if *output != "" {
		if err := os.MkdirAll(*output, 0o755); err != nil {
			return err
		}
		if err := fit.WriteOutputs(*output, spec, res); err != nil {
			return err
		}
	}
	if res.Warning != "" {
		fmt.Fprintf(os.Stderr, "bumpserve: warning: %s\n", res.Warning)
	}
	return printJSON(res)
}
