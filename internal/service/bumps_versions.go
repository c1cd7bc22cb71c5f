package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// DefaultBumpsPython is the Python of Debian's python3-bumps, asked for
// the versions a Bumps result records.
const DefaultBumpsPython = "/usr/bin/python3"

// bumpsInfo is what the executor's Python says about its Bumps: the
// versions of bumps, numpy, scipy and Python, and every fitter's default
// options, which a result records beside the options the spec gave.
type bumpsInfo struct {
	Versions map[string]string         `json:"versions"`
	Defaults map[string]map[string]any `json:"defaults"`
}

const bumpsInfoScript = `import json, sys, bumps, numpy, scipy
from bumps import fitters
print(json.dumps({"versions": {"bumps": bumps.__version__, "numpy": numpy.__version__,
  "scipy": scipy.__version__, "python": sys.version.split()[0]},
  "defaults": {f.id: dict(f.settings) for f in fitters.FITTERS}}))`

// loadBumpsInfo asks Python once per process (about a second: it imports
// numpy and scipy); the packages do not change under a running worker.
var loadBumpsInfo = sync.OnceValues(func() (*bumpsInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, DefaultBumpsPython, "-c", bumpsInfoScript).Output()
	if err != nil {
		return nil, fmt.Errorf("bumps versions from %s: %w", DefaultBumpsPython, err)
	}
	var info bumpsInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("bumps versions from %s: %w", DefaultBumpsPython, err)
	}
	return &info, nil
})

// bumpsOptions is the fitter's defaults overlaid with the options given
// (command-line text, recorded as numbers or booleans where they are
// such) and the seed bumps used.
func (info *bumpsInfo) options(fitter string, given map[string]string, seed *int64) json.RawMessage {
	all := map[string]any{}
	if info != nil {
		for k, v := range info.Defaults[fitter] {
			all[k] = v
		}
	}
	for k, v := range given {
		switch {
		case v == "true" || v == "false":
			all[k] = v == "true"
		default:
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				all[k] = f
			} else {
				all[k] = v
			}
		}
	}
	if seed != nil {
		all["seed"] = *seed
	}
	b, _ := json.Marshal(all)
	return b
}
