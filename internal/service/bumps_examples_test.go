package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/bumps"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// longEnv, when set (make test-long), makes TestBumpsExamples run every
// example with every fitter and bumps' own default lengths of fit.
const longEnv = "BUMPSERVE_LONG"

// bumpsExample is one model of Debian's python-bumps-doc.
type bumpsExample struct {
	model string   // file name under the doc's _downloads
	args  []string // the model's own arguments
	short string   // the fitter CI uses
}

// The examples that bumps 0.9 itself can run. Left out: bounded.py,
// cross.py and check_entropy.py (bumps 0.9's PDF calls
// inspect.getargspec, gone from Python 3.11, so they fail by hand too),
// sim.py (a plotting script, not a model) and curve-1.py (a helper of
// the documentation's build). ode.py and ode2.py need scipy, which
// python3-bumps pulls in.
var bumpsExamples = []bumpsExample{
	{"curve.py", nil, "dream"},
	{"peak.py", []string{"50"}, "amoeba"},
	{"anticor.py", nil, "dream"},
	{"inequality.py", nil, "amoeba"}, // stays infeasible: chisq=inf constraints=1.00006e+06
	{"poisson.py", nil, "de"},
	{"poisson.py", []string{"poisson"}, "amoeba"}, // a Poisson likelihood: chisq is 2·nllf
	{"ode.py", nil, "amoeba"},
	{"ode2.py", nil, "amoeba"},
	{"direct_call.py", nil, "de"},
}

// fitterOptions are the spec options per fitter, short (CI) and long.
var fitterOptions = map[string][2]string{
	"amoeba":        {`{"steps":100,"seed":1}`, `{"seed":1}`},
	"de":            {`{"steps":20,"seed":1}`, `{"steps":200,"seed":1}`},
	"dream":         {`{"samples":1000,"burn":20,"seed":1}`, `{"samples":10000,"burn":100,"seed":1}`},
	"scipy.leastsq": {`{"seed":1}`, `{"seed":1}`},
	"newton":        {`{"steps":100,"seed":1}`, `{"seed":1}`},
}

// TestBumpsExamples runs Debian's Bumps example models through bumpserve
// and by hand with the same seed and options (and the host's OpenBLAS
// settings, which the job inherits too): the jobs end as the hand runs
// do, with the same .par, .dat and -err.json byte for byte, and a
// chisq that agrees with the one bumps prints. CI runs one short fit per
// example; with BUMPSERVE_LONG=1 (make test-long) every example runs
// with every fitter at full length.
func TestBumpsExamples(t *testing.T) {
	t.Parallel()
	needBumps(t)
	long := os.Getenv(longEnv) != ""
	env := testenv.Start(t, controller.Config{Workers: 2})
	cl := env.Client(env.AdminToken)
	for _, ex := range bumpsExamples {
		fitters := []string{ex.short}
		if long {
			fitters = slices.Sorted(maps.Keys(fitterOptions))
		}
		for _, fitter := range fitters {
			name := strings.Join(append([]string{strings.TrimSuffix(ex.model, ".py")}, ex.args...), "-") + "/" + fitter
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				opts := fitterOptions[fitter][0]
				if long {
					opts = fitterOptions[fitter][1]
				}
				checkExample(t, cl, docModel(t, ex.model), ex.args, fitter, opts, long)
			})
		}
	}
}

func checkExample(t *testing.T, cl *client.Client, model string, args []string, fitter, opts string, long bool) {
	argsJSON, _ := json.Marshal(append([]string{}, args...))
	spec := fmt.Sprintf(`{"model":%q,"args":%s,"fitter":%q,"options":%s}`, filepath.Base(model), argsJSON, fitter, opts)
	j := submitBumps(t, cl, spec, model)
	store, stderr, handErr := handRun(t, []string{model}, append(slices.Clone(args), optionFlags(t, fitter, opts)...)...)
	timeout := bumpsTimeout
	if long {
		timeout = 30 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	end, err := cl.Watch(ctx, j.ID, func(*client.Job) error { return nil })
	if err != nil {
		t.Fatalf("watch job %d: %v", j.ID, err)
	}
	if handErr != nil {
		// bumps itself fails on this one (dream on the infeasible
		// inequality start, say): the job must fail the same way.
		exc := bumps.Digest(stderr)
		exc, _, _ = strings.Cut(exc, " (at ")
		if end.State != job.Error || !strings.Contains(end.Reason, exc) {
			t.Fatalf("by hand bumps failed with %q; the job ended %s: %s", exc, end.State, end.Reason)
		}
		return
	}
	if end.State != job.Complete {
		t.Fatalf("job ended %s: %s", end.State, end.Reason)
	}
	name := strings.TrimSuffix(filepath.Base(model), ".py")
	res := sameAsDirect(t, cl, j, store, name, fitter)
	// The chisq against what bumps printed by hand, read independently
	// of the job's own reader: 2·nllf less the constraints' penalty, to
	// the six digits bumps prints.
	text, err := os.ReadFile(filepath.Join(store, name+".err"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := bumps.ParseSummary(string(text))
	if err != nil {
		t.Fatal(err)
	}
	chisq, _ := res["chisq"].(float64)
	constraints, _ := res["constraints"].(float64)
	switch data := 2 * (sum.NLLF - sum.Constraints); {
	case math.IsInf(sum.NLLF, 1):
		// Past the soft limit bumps prints inf; the job reports the
		// data's own chisq and the penalty.
		if constraints != sum.Constraints || !(chisq > 0) {
			t.Errorf("chisq %g constraints %g; bumps printed nllf=inf constraints=%g", chisq, constraints, sum.Constraints)
		}
	case math.Abs(chisq-data) > 2e-5*math.Abs(data):
		t.Errorf("chisq %g; bumps printed nllf=%g constraints=%g, so chisq %g", chisq, sum.NLLF, sum.Constraints, data)
	}
}

// optionFlags turns a spec's fitter and options into bumps' flags.
func optionFlags(t *testing.T, fitter, opts string) []string {
	var m map[string]any
	if err := json.Unmarshal([]byte(opts), &m); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--fit=" + fitter}
	for k, v := range m {
		if v == true {
			flags = append(flags, "--"+k)
		} else {
			flags = append(flags, fmt.Sprintf("--%s=%v", k, v))
		}
	}
	sort.Strings(flags[1:])
	return flags
}
