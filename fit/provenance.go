package fit

import (
	"cmp"
	"encoding/json"
	"math/rand/v2"

	"github.com/bumpserve/bumpserve/internal/version"
)

// Engine is the name results give this engine.
const Engine = "bumpserve"

// chooseSeed returns the spec's seed, or a fresh random one when it gave
// none (0), so that the result can record a seed that repeats the fit.
func chooseSeed(seed int64) int64 {
	for seed == 0 {
		seed = rand.Int64N(1 << 31)
	}
	return seed
}

// recordProvenance fills what repeats the fit: the version, the engine,
// the seed and every option the fitter used, defaults included (not the
// CPUs, which change nothing in the result).
func recordProvenance(res *Result, s *Spec, d int) {
	o := s.Options
	seed := o.Seed
	res.Version, res.Engine, res.Seed = version.String(), Engine, &seed
	opts := map[string]any{"seed": o.Seed}
	switch s.Fitter {
	case "lm":
		opts["steps"] = cmp.Or(o.Steps, defaultLMSteps)
	case "amoeba":
		opts["steps"] = cmp.Or(o.Steps, defaultSteps*max(1, d))
		opts["starts"] = cmp.Or(o.Starts, defaultStarts)
	case "de":
		opts["steps"] = cmp.Or(o.Steps, defaultDESteps)
		opts["pop"] = cmp.Or(o.Pop, defaultPop)
	case "dream":
		cfg := newDreamConfig(o, d)
		opts["samples"] = cmp.Or(o.Samples, defaultSamples)
		opts["burn"] = cfg.minBurn
		opts["thin"] = cfg.thin
		opts["chains"] = cfg.nc
		opts["init"] = cmp.Or(o.Init, "lm")
		opts["until_converged"] = o.UntilConverged
		if o.Pop > 0 {
			opts["pop"] = o.Pop
		}
		if o.UntilConverged {
			opts["max_samples"] = cfg.maxKeptGens * cfg.nc
		}
	}
	res.Options, _ = json.Marshal(opts)
}
