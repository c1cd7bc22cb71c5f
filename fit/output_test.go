package fit

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestWriteOutputs(t *testing.T) {
	t.Parallel()
	for _, fitter := range []string{"lm", "dream"} {
		t.Run(fitter, func(t *testing.T) {
			t.Parallel()
			spec := misraSpec(t, fitter, `"options": {"samples": 2000, "seed": 2},`)
			res, err := Run(context.Background(), spec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := WriteOutputs(dir, spec, res); err != nil {
				t.Fatal(err)
			}
			want := []string{"results.json", "fit.par", "fit.err", "fit.svg", "fit.png"}
			if fitter == "dream" {
				want = append(want, "hist.svg", "corr.svg", "trace.svg")
			}
			for _, name := range want {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(name, ".svg") && !strings.Contains(string(data), "<svg") {
					t.Errorf("%s is not an SVG", name)
				}
			}
			var back map[string]any
			data, _ := os.ReadFile(filepath.Join(dir, "results.json"))
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"fitter", "converged", "chisq", "reduced_chisq", "dof", "evaluations", "parameters", "correlation"} {
				if _, ok := back[key]; !ok {
					t.Errorf("results.json lacks %q", key)
				}
			}
			b1 := back["parameters"].(map[string]any)["b1"].(map[string]any)
			if _, ok := b1["mean"]; ok != (fitter == "dream") {
				t.Errorf("b1 = %v: posterior statistics only for dream", b1)
			}
			// The .par file gives back the values exactly.
			f, _ := os.Open(filepath.Join(dir, "fit.par"))
			defer f.Close()
			sc := bufio.NewScanner(f)
			n := 0
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				v, err := strconv.ParseFloat(fields[1], 64)
				if err != nil || v != res.Parameters[fields[0]].Value {
					t.Errorf(".par line %q does not match %v", sc.Text(), res.Parameters[fields[0]].Value)
				}
				n++
			}
			if n != len(res.Parameters) {
				t.Errorf(".par has %d lines, want %d", n, len(res.Parameters))
			}
		})
	}
}
