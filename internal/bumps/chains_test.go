package bumps

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A real Bumps DREAM store gets R-hat and ESS for every parameter, and the
// verdict agrees with its own figures.
func TestLoadDreamDiagnoses(t *testing.T) {
	t.Parallel()
	res, err := loadDir(t, filepath.Join("testdata", "dream"), "curve", "dream")
	if err != nil {
		t.Fatal(err)
	}
	ok := true
	for _, name := range res.ParameterOrder {
		p := res.Parameters[name]
		if p.Rhat == nil || p.ESS == nil || !(*p.Rhat > 0.9) || !(*p.ESS > 0) || *p.ESS > 111*20*2 {
			t.Fatalf("%s: rhat %v, ess %v", name, p.Rhat, p.ESS)
		}
		ok = ok && *p.Rhat < 1.01 && *p.ESS >= 400
	}
	if !ok && (res.Converged || !strings.Contains(res.Warning, "has not converged")) {
		t.Errorf("converged %v, warning %q, with R-hat or ESS past the thresholds", res.Converged, res.Warning)
	}
}

// writeStore makes a store holding testdata/dream's files and the given
// point file.
func writeStore(t *testing.T, point []byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"curve.par", "curve.err", "curve.mon", "curve.dat", "curve-err.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "dream", f))
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	must(t, os.WriteFile(filepath.Join(dir, "curve-point.mc.gz"), point, 0o644))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pointFile writes chains in bumps' layout; shift moves chain c by c·shift.
func pointFile(t *testing.T, gens, pop int, shift float64) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	fmt.Fprintf(z, "# logp point (Nthin x Npop x Nvar = [%d,%d,2])\n", gens, pop)
	r := rand.New(rand.NewPCG(1, 2))
	for range gens {
		for c := range pop {
			fmt.Fprintf(z, "%g %g %g\n", -1.0, r.NormFloat64()+float64(c)*shift, r.NormFloat64())
		}
	}
	must(t, z.Close())
	return buf.Bytes()
}

func TestChainsDecideConvergence(t *testing.T) {
	t.Parallel()
	mixed, err := loadDir(t, writeStore(t, pointFile(t, 200, 10, 0)), "curve", "dream")
	if err != nil {
		t.Fatal(err)
	}
	if !mixed.Converged || mixed.Warning != "" {
		t.Errorf("independent draws: converged %v, warning %q", mixed.Converged, mixed.Warning)
	}
	apart, err := loadDir(t, writeStore(t, pointFile(t, 200, 10, 3)), "curve", "dream")
	if err != nil {
		t.Fatal(err)
	}
	if r := *apart.Parameters["b"].Rhat; apart.Converged || r < 1.5 || !strings.Contains(apart.Warning, "has not converged") {
		t.Errorf("chains 3σ apart: converged %v, R-hat %g, warning %q", apart.Converged, r, apart.Warning)
	}
	if r := *apart.Parameters["m"].Rhat; math.Abs(float64(r)-1) > 0.05 {
		t.Errorf("m mixes in every chain, R-hat %g", r)
	}
}

// A chain file the job mangled costs the verdict, never the fit or the
// server: the job reads as not converged, saying why.
func TestBadChainsReadAsUnknown(t *testing.T) {
	t.Parallel()
	gz := func(s string) []byte {
		var buf bytes.Buffer
		z := gzip.NewWriter(&buf)
		z.Write([]byte(s))
		z.Close()
		return buf.Bytes()
	}
	var bomb bytes.Buffer // far more than maxChainText of zeros
	z := gzip.NewWriter(&bomb)
	zeros := make([]byte, 1<<20)
	for range maxChainText>>20 + 2 {
		z.Write(zeros)
	}
	z.Close()
	for name, point := range map[string][]byte{
		"not gzip":          []byte("plain text"),
		"wrong width":       gz("# logp point (Nthin x Npop x Nvar = [1,1,3])\n-1 1 2 3\n"),
		"short":             gz("# logp point (Nthin x Npop x Nvar = [2,1,2])\n-1 1 2\n"),
		"not a number":      gz("# logp point (Nthin x Npop x Nvar = [1,1,2])\n-1 abc 2\n"),
		"huge shape":        gz("# logp point (Nthin x Npop x Nvar = [1000000000,1000000,2])\n"),
		"no header":         gz("-1 1 2\n"),
		"a bomb of nothing": bomb.Bytes(),
	} {
		res, err := loadDir(t, writeStore(t, point), "curve", "dream")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Converged || !strings.Contains(res.Warning, "convergence unknown") {
			t.Errorf("%s: converged %v, warning %q", name, res.Converged, res.Warning)
		}
	}
}
