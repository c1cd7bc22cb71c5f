package fit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// checkpointSpec is a small seeded fit of a two-parameter exponential
// decay; fitter and options are filled in.
func checkpointSpec(t *testing.T, fitter, options string) *Spec {
	t.Helper()
	js := fmt.Sprintf(`{"fitter":%q,"options":{%s},
		"parameters":{"a":{"value":2,"min":0,"max":10},"k":{"value":0.5,"min":0,"max":5}},
		"datasets":[{"model":"a*exp(-k*x)","x":[0,1,2,3,4,5,6],"y":[3.02,1.79,1.13,0.64,0.41,0.22,0.15],"dy":[0.1,0.1,0.1,0.1,0.05,0.05,0.05]}]}`, fitter, options)
	s, err := ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fitRun is one run's result with its chains, for exact comparison.
type fitRun struct {
	json    []byte
	samples [][]float64
	logp    [][]float64
	log     string
}

func runFit(t *testing.T, ctx context.Context, s *Spec, opt Options) (*fitRun, error) {
	t.Helper()
	var log bytes.Buffer
	opt.Log, opt.CPUs = &log, 2
	res, err := Run(ctx, s, opt)
	if err != nil {
		return &fitRun{log: log.String()}, err
	}
	b, _ := json.Marshal(res)
	return &fitRun{json: b, samples: res.fit.samples, logp: res.fit.logp, log: log.String()}, nil
}

// checkpointAt runs the fit until its checkpoint after step k is saved,
// then ends it as a killed process would, and returns the checkpoint.
func checkpointAt(t *testing.T, s *Spec, k int) []byte {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var saved []byte
	_, err := runFit(t, ctx, s, Options{
		checkpointDue: func(step int) bool { return step == k },
		Checkpoint: func(c Checkpoint) error {
			if !c.Final {
				saved = c.Data
				cancel()
			}
			return nil
		},
	})
	if saved == nil {
		t.Fatalf("no checkpoint at step %d (err %v)", k, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("fit went on past its checkpoint at step %d: %v", k, err)
	}
	return saved
}

// A fit stopped at step k and resumed from its checkpoint ends with the
// chains and the result of a run never interrupted, bit for bit, for
// every fitter that checkpoints and several k (in DREAM's burn-in,
// right after it, while sampling and at the last step).
func TestCheckpointResumeIsExact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fitter, options string
		steps           []int
	}{
		{"dream", `"seed":11,"samples":4000,"burn":40`, []int{1, 7, 60, 200, 0}},
		{"dream", `"seed":5,"samples":2000,"burn":30,"init":"lhs","until_converged":true`, []int{3, 120, 0}},
		{"de", `"seed":3,"steps":60,"pop":5`, []int{1, 17, 0}},
		{"amoeba", `"seed":1,"starts":3`, []int{1, 40, 0}},
		{"lm", `"seed":1`, []int{1, 3, 0}},
	}
	for _, c := range cases {
		t.Run(c.fitter+"/"+c.options, func(t *testing.T) {
			t.Parallel()
			s := checkpointSpec(t, c.fitter, c.options)
			want, err := runFit(t, context.Background(), s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var last int
			json.Unmarshal(want.json, &struct{ Steps *int }{&last})
			for _, k := range c.steps {
				if k == 0 || k >= last {
					k = last - 1 // the last checkpoint before the end
				}
				ckpt := checkpointAt(t, s, k)
				got, err := runFit(t, context.Background(), s, Options{Resume: ckpt})
				if err != nil {
					t.Fatalf("resume at %d: %v", k, err)
				}
				if !strings.Contains(got.log, fmt.Sprintf("resumed from checkpoint at step %d\n", k)) {
					t.Errorf("resume at %d: log does not say so:\n%s", k, got.log)
				}
				if !bytes.Equal(got.json, want.json) {
					t.Errorf("resume at %d: result differs:\n got %s\nwant %s", k, got.json, want.json)
				}
				if !reflect.DeepEqual(got.samples, want.samples) || !reflect.DeepEqual(got.logp, want.logp) {
					t.Errorf("resume at %d: chains differ (%d vs %d draws)", k, len(got.samples), len(want.samples))
				}
			}
		})
	}
}

// A checkpoint that is truncated, damaged, of another problem or of
// other options is logged and the fit starts afresh, ending as a fresh
// run would.
func TestCheckpointRefused(t *testing.T) {
	t.Parallel()
	s := checkpointSpec(t, "dream", `"seed":2,"samples":1000,"burn":20`)
	want, err := runFit(t, context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := checkpointAt(t, s, 30)
	other := checkpointAt(t, checkpointSpec(t, "dream", `"seed":2,"samples":1000,"burn":21`), 30)
	s2 := checkpointSpec(t, "dream", `"seed":2,"samples":1000,"burn":20`)
	s2.Parameters[0].Max = 11
	foreign := checkpointAt(t, s2, 30)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	for _, c := range []struct {
		name string
		data []byte
		why  string
	}{
		{"truncated", good[:len(good)/2], "checksum mismatch"},
		{"damaged", flipped, "checksum mismatch"},
		{"empty", []byte{}, "not a bumpserve fit checkpoint"},
		{"junk", []byte("PK\x03\x04 not a checkpoint"), "not a bumpserve fit checkpoint"},
		{"other problem", foreign, "another problem"},
		{"other options", other, "other options"},
		{"other fitter", checkpointAt(t, checkpointSpec(t, "de", `"seed":2,"steps":40`), 5), `fitter "de"`},
	} {
		got, err := runFit(t, context.Background(), s, Options{Resume: c.data})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(got.log, "checkpoint not used, starting afresh: ") || !strings.Contains(got.log, c.why) {
			t.Errorf("%s: log does not say why the checkpoint was refused (%q):\n%s", c.name, c.why, got.log)
		}
		if strings.Contains(got.log, "resumed from") || !bytes.Equal(got.json, want.json) {
			t.Errorf("%s: not a fresh start", c.name)
		}
	}
}

// Stop ends a DREAM fit with the draws so far, marked as such; its final
// state continued for more samples gives the draws of one longer run.
func TestStopAndContinue(t *testing.T) {
	t.Parallel()
	s := checkpointSpec(t, "dream", `"seed":9,"samples":4000,"burn":40`)
	long, err := runFit(t, context.Background(), checkpointSpec(t, "dream", `"seed":9,"samples":6000,"burn":40`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var final Checkpoint
	var res *Result
	res, err = Run(context.Background(), s, Options{CPUs: 1, Stop: stop,
		Progress: func(p Progress) {
			if p.Step == 300 {
				close(stop)
			}
		},
		Checkpoint: func(c Checkpoint) error { final = c; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.Converged || !strings.Contains(res.Warning, "stopped early by request at generation 300") || res.Steps != 300 {
		t.Errorf("stopped fit: stopped %v converged %v steps %d warning %q", res.Stopped, res.Converged, res.Steps, res.Warning)
	}
	if pr := res.Parameters["a"]; pr.Mean == nil || pr.P95 == nil || len(res.fit.samples) == 0 {
		t.Errorf("stopped fit has no posterior statistics: %+v", pr)
	}
	if !final.Final || final.Step != 300 {
		t.Fatalf("final checkpoint: final %v step %d", final.Final, final.Step)
	}
	info, err := InspectCheckpoint(final.Data)
	if err != nil || !info.Final || info.Step != 300 || info.Fitter != "dream" {
		t.Errorf("inspect: %+v %v", info, err)
	}
	// Continue the stopped fit up to the longer run's 6000 draws.
	kept := len(res.fit.samples)
	more := checkpointSpec(t, "dream", fmt.Sprintf(`"seed":9,"samples":%d,"burn":40`, 6000-kept))
	got, err := runFit(t, context.Background(), more, Options{Resume: final.Data, Continue: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.log, "continuing the earlier fit from generation 300") {
		t.Errorf("log:\n%s", got.log)
	}
	if !reflect.DeepEqual(got.samples, long.samples) {
		t.Errorf("stopped + continued: %d draws differ from one run's %d", len(got.samples), len(long.samples))
	}
	// Continuing needs an ended fit of the same problem.
	if _, err := Run(context.Background(), more, Options{Continue: true}); err == nil || !strings.Contains(err.Error(), "no earlier fit") {
		t.Errorf("continue without a checkpoint: %v", err)
	}
	mid := checkpointAt(t, s, 50)
	if _, err := Run(context.Background(), more, Options{Resume: mid, Continue: true}); err == nil || !strings.Contains(err.Error(), "has not ended") {
		t.Errorf("continue from a running fit's checkpoint: %v", err)
	}
}

func TestCheckpointSecondsValidated(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0.5", "-1", "1e999"} {
		_, err := ParseSpec([]byte(`{"fitter":"dream","options":{"checkpoint_seconds":` + v + `},"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","x":[1,2],"y":[1,2]}]}`))
		if err == nil || !strings.Contains(err.Error(), "options.checkpoint_seconds") {
			t.Errorf("checkpoint_seconds %s: %v", v, err)
		}
	}
	if _, err := ParseSpec([]byte(`{"fitter":"dream","options":{"checkpoint_seconds":1},"parameters":{"a":{"value":1}},"datasets":[{"model":"a*x","x":[1,2],"y":[1,2]}]}`)); err != nil {
		t.Errorf("checkpoint_seconds 1: %v", err)
	}
}

// Stop ends the optimisers too, with their best point so far.
func TestStopOptimisers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ fitter, options string }{
		{"de", `"seed":3,"steps":500`}, {"amoeba", `"seed":1`}, {"lm", `"seed":1`},
	} {
		stop := make(chan struct{})
		res, err := Run(context.Background(), checkpointSpec(t, c.fitter, c.options), Options{CPUs: 1, Stop: stop,
			Progress: func(p Progress) {
				if p.Step == 2 {
					close(stop)
				}
			}})
		if err != nil {
			t.Fatalf("%s: %v", c.fitter, err)
		}
		if !res.Stopped || res.Converged || !strings.Contains(res.Warning, "stopped early by request") || res.Steps > 3 {
			t.Errorf("%s stopped: stopped %v converged %v steps %d warning %q", c.fitter, res.Stopped, res.Converged, res.Steps, res.Warning)
		}
	}
}

// A DREAM fit whose context ends mid-run (a drain, a preemption) saves
// where it was; resumed from there it ends as a run never interrupted.
func TestCheckpointOnCancel(t *testing.T) {
	t.Parallel()
	s := checkpointSpec(t, "dream", `"seed":8,"samples":3000,"burn":30`)
	want, err := runFit(t, context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// At 5 and 150 the cancel comes between generations; at 300 from
	// another goroutine, most likely during one.
	for _, k := range []int{5, 150, 300} {
		ctx, cancel := context.WithCancel(context.Background())
		var saved Checkpoint
		_, err := Run(ctx, s, Options{CPUs: 2,
			Progress: func(p Progress) {
				switch {
				case p.Step == k && k == 300:
					go cancel()
				case p.Step == k+1 && k == 300:
					<-ctx.Done() // the cancel came during this generation or comes now
				case p.Step == k:
					cancel()
				}
			},
			Checkpoint: func(c Checkpoint) error { saved = c; return nil },
		})
		cancel()
		if !errors.Is(err, context.Canceled) || saved.Data == nil || saved.Step < k {
			t.Fatalf("cancel at %d: %v, checkpoint at step %d", k, err, saved.Step)
		}
		got, err := runFit(t, context.Background(), s, Options{Resume: saved.Data})
		if err != nil || !bytes.Equal(got.json, want.json) || !reflect.DeepEqual(got.samples, want.samples) {
			t.Errorf("resumed after a cancel at %d (checkpoint step %d): %v, results differ", k, saved.Step, err)
		}
	}
}
