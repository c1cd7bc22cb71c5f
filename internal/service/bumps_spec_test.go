package service

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBumpsCheck(t *testing.T) {
	t.Parallel()
	input := t.TempDir()
	for _, name := range []string{"curve.py", "m.py"} {
		if err := os.WriteFile(filepath.Join(input, name), []byte("# a model\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		spec, want string // want: "" for accepted, else words of the error
	}{
		{`{"model":"curve.py"}`, ""},
		{`{"model":"m.py","args":["50"],"fitter":"dream","options":{"samples":2000,"burn":100,"seed":0,"outliers":"iqr","keep_best":true,"alpha":0.01}}`, ""},
		{`{"model":"m.py","options":{"parallel":2},"resources":{"cpus":2},"limits":{"wall_seconds":60}}`, ""},
		{`{}`, "spec.model: missing"},
		{`{"model":"../x.py"}`, `spec.model: "../x.py"`},
		{`{"model":"/etc/x.py"}`, "spec.model"},
		{`{"model":"data.txt"}`, "ending in .py"},
		{`{"model":"m.py","args":["--overwrite"]}`, `spec.args[0]: "--overwrite"`},
		{`{"model":"m.py","args":["ok","--help"]}`, "spec.args[1]"},
		{`{"model":"m.py","fitter":"levmar"}`, `spec.fitter: "levmar" is not a bumps fitter (accepted: amoeba`},
		{`{"model":"m.py","options":{"store":"/tmp"}}`, "spec.options.store: unknown option (accepted: CR, Tmax"},
		{`{"model":"m.py","options":{"overwrite":true}}`, "spec.options.overwrite: unknown option"},
		{`{"model":"m.py","options":{"samples":-5}}`, "spec.options.samples: -5 is not a number from 1"},
		{`{"model":"m.py","options":{"samples":1.5}}`, "spec.options.samples: 1.5 is not a whole number"},
		{`{"model":"m.py","options":{"seed":"1"}}`, "spec.options.seed"},
		{`{"model":"m.py","options":{"init":"best"}}`, "spec.options.init: \"best\" is not accepted (accepted: eps, lhs, cov, random)"},
		{`{"model":"m.py","options":{"parallel":2}}`, "spec.options.parallel: 2 exceeds the job's resources.cpus 1"},
		{`{"model":"m.py","mode":"fast"}`, `spec.mode: unknown field (accepted: model, args, fitter, options, start, limits, resources)`},
		{`{"model":"m.py","args":"50"}`, `spec.args: expected an array, got string`},
		{`{"model":"absent.py"}`, `spec.model: absent.py was not uploaded; uploaded: curve.py, m.py`},
		{`{"model":"m.py","fitter":"dream","options":{"checkpoint_seconds":30}}`, ``},
		{`{"model":"m.py","options":{"checkpoint_seconds":30}}`, `spec.options.checkpoint_seconds: only fitter dream saves its state in bumps 0.9 (fitter is "amoeba")`},
		{`{"model":"m.py","fitter":"dream","options":{"checkpoint_seconds":0.5}}`, `spec.options.checkpoint_seconds: 0.5 is not a number from 1 to 1e+09`},
		{`{"model":"m.py","start":{"center":9.5,"M1 width":1.5}}`, ``},
		{`{"model":"m.py","start":{"center\nwidth":9.5}}`, `spec.start: "center\nwidth" is not a parameter label`},
		{`{"model":"m.py","start":{" ":1}}`, `spec.start: " " is not a parameter label`},
		{`{"model":"m.py","start":{"center":"9"}}`, `spec.start`},
		{`{"model":"m.py","start":{"center":1e999}}`, `spec.start`},
	} {
		err := Bumps{}.Check(json.RawMessage(c.spec), input)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Check(%s) = %v, want accepted", c.spec, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Check(%s) = %v, want an error with %q", c.spec, err, c.want)
		}
	}
}

// Only the options the spec gives reach bumps, in a fixed order; the
// serial fallback drops --parallel and nothing else. checkpoint_seconds
// is bumpserve's (stateArgs turns it into --checkpoint).
func TestBumpsArgs(t *testing.T) {
	t.Parallel()
	spec, opts, err := parseBumps(json.RawMessage(`{"model":"m.py","args":["50","x"],"fitter":"dream",
		"options":{"seed":1,"samples":2000,"keep_best":false,"err":true,"parallel":2,"alpha":0.05,"checkpoint_seconds":30},"resources":{"cpus":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := bumpsArgs("/in/m.py", spec, "dream", opts, "/out/store", true)
	want := []string{"/in/m.py", "50", "x", "--batch", "--store=/out/store", "--fit=dream",
		"--alpha=0.05", "--err", "--parallel=2", "--samples=2000", "--seed=1"}
	if !slices.Equal(got, want) {
		t.Errorf("bumpsArgs =\n %q\nwant\n %q", got, want)
	}
	serial := bumpsArgs("/in/m.py", spec, "dream", opts, "/out/store", false)
	if slices.Contains(serial, "--parallel=2") || len(serial) != len(want)-1 {
		t.Errorf("serial fallback args %q", serial)
	}
	bare, opts, _ := parseBumps(json.RawMessage(`{"model":"m.py"}`))
	if got := bumpsArgs("/in/m.py", bare, "", opts, "/s", true); !slices.Equal(got, []string{"/in/m.py", "--batch", "--store=/s"}) {
		t.Errorf("a spec with no options gave %q", got)
	}
}

// A bumps job sees the host's settings of its numerical libraries, as a
// hand run does, and nothing else of the service's environment.
func TestNumericEnv(t *testing.T) {
	t.Parallel()
	got := numericEnv([]string{"OPENBLAS_CORETYPE=Haswell", "BUMPSERVE_TOKEN=bst_x", "OMP_NUM_THREADS=2",
		"MKL_CBWR=AUTO", "GOTO_NUM_THREADS=1", "GOTO_X=1", "HOME=/root", "XOPENBLAS_=1"})
	want := []string{"OPENBLAS_CORETYPE=Haswell", "OMP_NUM_THREADS=2", "MKL_CBWR=AUTO", "GOTO_NUM_THREADS=1"}
	if !slices.Equal(got, want) {
		t.Errorf("numericEnv = %q, want %q", got, want)
	}
}
