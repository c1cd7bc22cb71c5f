package fit

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// misraSpec is a small real problem for behaviour tests.
func misraSpec(t *testing.T, fitter, extra string) *Spec {
	t.Helper()
	p := loadNIST(t, "Misra1a")
	spec, err := ParseSpec([]byte(p.specJSON(fitter, p.start1, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestSameResultWhateverTheCPUs(t *testing.T) {
	t.Parallel()
	for _, fitter := range []string{"lm", "amoeba", "de", "dream"} {
		t.Run(fitter, func(t *testing.T) {
			t.Parallel()
			spec := misraSpec(t, fitter, `"options": {"seed": 11, "samples": 2000, "steps": 200, "cpus": 4},`)
			var results []*Result
			for _, cpus := range []int{1, 2, 3} {
				res, err := Run(context.Background(), spec, Options{CPUs: cpus})
				if err != nil {
					t.Fatal(err)
				}
				res.fit = nil
				results = append(results, res)
			}
			for i := 1; i < len(results); i++ {
				if !reflect.DeepEqual(results[0], results[i]) {
					t.Errorf("cpus=%d gives %+v, cpus=1 gives %+v", i+1, results[i], results[0])
				}
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	spec := misraSpec(t, "dream", `"options": {"samples": 100000000},`)
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	_, err := Run(ctx, spec, Options{Progress: func(p Progress) {
		// Cancelling from the progress callback makes the test
		// independent of timing: the fitter must stop at its next check.
		if steps++; steps == 5 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if steps > 6 {
		t.Errorf("%d progress reports after cancel", steps-5)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	spec := misraSpec(t, "lm", "")
	var got []Progress
	res, err := Run(context.Background(), spec, Options{Progress: func(p Progress) { got = append(got, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no progress reported")
	}
	last := got[len(got)-1]
	if last.Cost != res.Chisq || last.Params["b1"] != res.Parameters["b1"].Value {
		t.Errorf("last progress %+v does not match the result %v, %v", last, res.Chisq, res.Parameters["b1"])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Step <= got[i-1].Step || got[i].Cost > got[i-1].Cost {
			t.Fatalf("progress %d %+v after %+v: steps must grow and cost not rise", i, got[i], got[i-1])
		}
	}
}

func TestDataFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := "# t y dy\n1, 2.1, 0.1\n2 3.9 0.1\n\n3\t6.2\t0.1 # third\n4 7.8 0.1\n"
	if err := os.WriteFile(filepath.Join(dir, "d.txt"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec([]byte(`{"parameters": {"a": {"value": 1}, "c": {"value": 0, "fixed": true}},
		"datasets": [{"file": "d.txt", "columns": ["t", "y", "dy"], "model": "a*t + c"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), spec, Options{InputDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Weighted least squares through the origin: a = Σty/Σt².
	want := (1*2.1 + 2*3.9 + 3*6.2 + 4*7.8) / 30
	if lre(res.Parameters["a"].Value, want) < 10 || res.DOF != 3 || !res.Parameters["c"].Fixed {
		t.Errorf("got %+v, dof %d; want a = %v, dof 3, c fixed", res.Parameters, res.DOF, want)
	}
	for _, bad := range []string{"../d.txt", "/etc/passwd", "link.txt", "missing.txt"} {
		_ = os.Symlink("/etc/hostname", filepath.Join(dir, "link.txt"))
		spec.Datasets[0].File = bad
		if _, err := Run(context.Background(), spec, Options{InputDir: dir}); err == nil {
			t.Errorf("file %q: no error", bad)
		}
	}
}

// Shared parameters across datasets and a prior enter one cost.
func TestSharedParametersAndPrior(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpec([]byte(`{"scale_errors": false,
		"parameters": {"a": {"value": 1}, "b": {"value": 0}, "c": {"value": 0, "prior": {"mean": 2, "sd": 0.5}}},
		"datasets": [
			{"model": "a*x + b", "x": [0, 1, 2], "y": [1, 3, 5]},
			{"model": "a*x + c", "x": [0, 1, 2], "y": [3, 5, 7], "name": "second"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The problem is linear: rows [x 1 0] and [x 0 1] for the datasets and
	// [0 0 1/sd] → mean/sd for the prior; solve it independently.
	A := mat.NewDense(7, 3, []float64{0, 1, 0, 1, 1, 0, 2, 1, 0, 0, 0, 1, 1, 0, 1, 2, 0, 1, 0, 0, 2})
	y := mat.NewVecDense(7, []float64{1, 3, 5, 3, 5, 7, 4})
	var want mat.VecDense
	if err := want.SolveVec(A, y); err != nil {
		t.Fatal(err)
	}
	for k, name := range []string{"a", "b", "c"} {
		if got := res.Parameters[name].Value; lre(got, want.AtVec(k)) < 8 {
			t.Errorf("%s = %v, want %v", name, got, want.AtVec(k))
		}
	}
	if res.PriorChisq <= 0 || res.DOF != 3 {
		t.Errorf("prior_chisq %v, dof %d; want > 0 and 3", res.PriorChisq, res.DOF)
	}
}

// At the minimum lm stops without spending evaluations to learn that no
// damping helps, and the Gauss–Newton step it ends with gives a linear
// problem's least-squares answer to the last digits.
func TestLMStopsPromptlyAtTheMinimum(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpec([]byte(`{"fitter": "lm",
		"parameters": {"a": {"value": 1}, "b": {"value": 0}},
		"datasets": [{"model": "a*x + b", "x": [1, 2, 3, 4, 5], "y": [3.1, 4.9, 7.2, 8.8, 11.1], "dy": [0.1, 0.1, 0.1, 0.1, 0.1]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Slope Σ(x-3)(y-7.02)/Σ(x-3)² = 19.9/10, intercept 7.02 - 3·1.99.
	for name, want := range map[string]float64{"a": 1.99, "b": 1.05} {
		if got := res.Parameters[name].Value; math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s = %.17g, want %g", name, got, want)
		}
	}
	if !res.Converged || res.Evaluations > 60 {
		t.Errorf("converged %v after %d evaluations (%s); want a few dozen at most", res.Converged, res.Evaluations, res.Message)
	}
}
