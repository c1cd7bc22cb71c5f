package fit

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPosterior runs DREAM on the posterior suite's problems, native
// and (when /usr/bin/bumps is installed) Bumps' own, and reports effective
// draws per second: the smallest bulk ESS over the parameters divided by
// the wall time of the whole run (for Bumps, of the bumps process, as a
// user waits for it). With -v it logs each statistic beside the exact
// value, the table of docs/dream.md:
//
//	go test ./fit -run '^$' -bench Posterior -benchtime 1x -v
//
// Bumps' ESS is computed here from its stored chains (-point.mc.gz) with
// the same rank-normalised estimator as the native one's.
func BenchmarkPosterior(b *testing.B) {
	problems := []*posteriorProblem{misra1aPosterior(b), gaussPeakPosterior(), expDecayPosterior(), sinPosterior(), linearPosterior()}
	for _, pp := range problems {
		for _, samples := range []int{defaultSamples, 300000} {
			if samples != defaultSamples && pp.name != "Misra1a" {
				continue
			}
			var exact []*marginal
			b.Run(fmt.Sprintf("%s/samples=%d/native", pp.name, samples), func(b *testing.B) {
				exact = benchMarginals(b, pp, exact)
				spec, err := ParseSpec([]byte(pp.spec(samples, 7)))
				if err != nil {
					b.Fatal(err)
				}
				ess := 0.0
				var res *Result
				b.ResetTimer()
				for range b.N {
					if res, err = Run(context.Background(), spec, Options{CPUs: 1}); err != nil {
						b.Fatal(err)
					}
					ess += minESS(res)
				}
				b.ReportMetric(ess/b.Elapsed().Seconds(), "ess/s")
				logComparison(b, pp, exact, res.Parameters, fmt.Sprintf("converged %t", res.Converged))
			})
			b.Run(fmt.Sprintf("%s/samples=%d/bumps", pp.name, samples), func(b *testing.B) {
				if _, err := os.Stat("/usr/bin/bumps"); err != nil {
					b.Skip("no /usr/bin/bumps (Debian package python3-bumps)")
				}
				exact = benchMarginals(b, pp, exact)
				ess, secs := 0.0, 0.0
				var params map[string]ParamResult
				for range b.N {
					var e float64
					var d time.Duration
					params, e, d = runBumpsDREAM(b, pp, samples, 7)
					ess, secs = ess+e, secs+d.Seconds()
				}
				b.ReportMetric(ess/secs, "ess/s")
				logComparison(b, pp, exact, params, "")
			})
		}
	}
}

func benchMarginals(b *testing.B, pp *posteriorProblem, have []*marginal) []*marginal {
	if have != nil {
		return have
	}
	return pp.marginals(b)
}

// logComparison logs got (exact) for each statistic, and R-hat and ESS.
func logComparison(b *testing.B, pp *posteriorProblem, exact []*marginal, params map[string]ParamResult, note string) {
	var s strings.Builder
	fmt.Fprintf(&s, "%s %s", pp.name, note)
	for k, name := range pp.params {
		pr := params[name]
		if pr.ESS == nil || pr.P95 == nil {
			continue
		}
		fmt.Fprintf(&s, "\n  %-4s R-hat %.3f ESS %6.0f", name, float64(*pr.Rhat), float64(*pr.ESS))
		for _, st := range posteriorStats(pr, exact[k]) {
			if math.IsInf(st.tol, 0) || math.IsNaN(st.tol) {
				continue
			}
			off := ""
			if math.Abs(st.got-st.exact) > st.tol {
				off = "!"
			}
			fmt.Fprintf(&s, " | %s %.5g%s (%.5g)", st.name, st.got, off, st.exact)
		}
	}
	b.Log(s.String())
}

// runBumpsDREAM fits the problem with Bumps' DREAM at Bumps' defaults
// (bounded parameters: Bumps needs ranges, so unbounded ones get ±1000,
// far outside the posterior) and returns its reported statistics with
// R-hat and ESS of its chains, the smallest ESS, and the wall time.
func runBumpsDREAM(b *testing.B, pp *posteriorProblem, samples int, seed int) (map[string]ParamResult, float64, time.Duration) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.py"), []byte(bumpsModel(pp)), 0o644); err != nil {
		b.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	cmd := exec.Command("/usr/bin/bumps", filepath.Join(dir, "model.py"), "--fit=dream",
		fmt.Sprintf("--samples=%d", samples), fmt.Sprintf("--seed=%d", seed), "--store="+store, "--batch")
	cmd.Env = append(os.Environ(), "MPLBACKEND=Agg")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("bumps: %v\n%s", err, out)
	}
	wall := time.Since(start)
	raw, err := os.ReadFile(filepath.Join(store, "model-err.json"))
	if err != nil {
		b.Fatal(err)
	}
	// Python writes NaN as a bare word.
	raw = []byte(strings.NewReplacer("NaN", "null", "-Infinity", "null", "Infinity", "null").Replace(string(raw)))
	var post map[string]struct {
		Median, Std float64
		P68, P95    [2]float64
	}
	if err := json.Unmarshal(raw, &post); err != nil {
		b.Fatal(err)
	}
	series := bumpsChains(b, filepath.Join(store, "model-point.mc.gz"), len(pp.params))
	params := map[string]ParamResult{}
	least := math.Inf(1)
	for k, name := range pp.params {
		q := post[name]
		rh, ess, _ := chainDiagnostics(series[k])
		r, e := Float(rh), Float(ess)
		p68, p95 := q.P68, q.P95
		params[name] = ParamResult{Median: &q.Median, Std: &q.Std, P68: &p68, P95: &p95, Rhat: &r, ESS: &e}
		least = min(least, ess)
	}
	return params, least, wall
}

// bumpsChains reads Bumps' -point file: a header giving
// [Nthin, Npop, Nvar], then Nthin*Npop rows of logp and the parameters,
// generation-major. It returns series[param][chain][generation].
func bumpsChains(b *testing.B, path string, d int) [][][]float64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(z)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var npop int
	var rows [][]float64
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			i := strings.Index(line, "[")
			dims := strings.Split(strings.Trim(line[i:], "[]\n "), ",")
			npop, _ = strconv.Atoi(strings.TrimSpace(dims[1]))
			continue
		}
		var row []float64
		for _, f := range strings.Fields(line) {
			v, _ := strconv.ParseFloat(f, 64)
			row = append(row, v)
		}
		rows = append(rows, row[1:1+d])
	}
	if npop == 0 || len(rows)%npop != 0 {
		b.Fatalf("%s: %d rows, %d chains", path, len(rows), npop)
	}
	n := len(rows) / npop
	series := make([][][]float64, d)
	for j := range series {
		series[j] = make([][]float64, npop)
		for c := range npop {
			series[j][c] = make([]float64, n)
			for t := range n {
				series[j][c][t] = rows[t*npop+c][j]
			}
		}
	}
	return series
}

// bumpsModel is the problem as a Bumps model script.
func bumpsModel(pp *posteriorProblem) string {
	expr := pp.model
	for _, r := range [][2]string{{"^", "**"}, {"exp(", "np.exp("}, {"sin(", "np.sin("}} {
		expr = strings.ReplaceAll(expr, r[0], r[1])
	}
	var s strings.Builder
	s.WriteString("import numpy as np\nfrom bumps.names import Curve, FitProblem\n")
	fmt.Fprintf(&s, "x = np.array(%s)\ny = np.array(%s)\n", jsonArr(pp.x), jsonArr(pp.y))
	args := make([]string, len(pp.params))
	for k, name := range pp.params {
		args[k] = fmt.Sprintf("%s=%s", name, jsonNum(pp.start[k]))
	}
	fmt.Fprintf(&s, "def f(x, %s):\n    return %s\n", strings.Join(args, ", "), expr)
	fmt.Fprintf(&s, "M = Curve(f, x, y, np.full(len(x), %s), %s)\n", jsonNum(pp.dy), strings.Join(args, ", "))
	for k, name := range pp.params {
		lo, hi := max(pp.lo[k], -1000), min(pp.hi[k], 1000)
		fmt.Fprintf(&s, "M.%s.range(%s, %s)\n", name, jsonNum(lo), jsonNum(hi))
	}
	s.WriteString("problem = FitProblem(M)\n")
	return s.String()
}
