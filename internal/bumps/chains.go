package bumps

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// maxChainText bounds the decompressed size of a chain file: the job wrote
// it, and a small gzip file can hold a great deal of nothing.
const maxChainText = 512 << 20

// readChains reads the draws bumps' DREAM kept, <name>-point.mc.gz, as
// series[p][c][t] for the nvar parameters in .par order. Its header names
// the shape ("# logp point (Nthin x Npop x Nvar = [261,40,4])"); each row
// is one chain's logp and point at one kept generation, generation by
// generation. A store without the file (a fitter other than dream) gives
// nil.
func readChains(store *jobfs.Dir, name string, nvar int) ([][][]float64, error) {
	rel := name + "-point.mc.gz"
	gz, err := store.ReadFile(rel, maxStoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", rel, err)
	}
	sc := bufio.NewScanner(io.LimitReader(z, maxChainText))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var gens, pop, nv int
	var series [][][]float64
	row := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			if _, err := fmt.Sscanf(line[strings.LastIndex(line, "["):], "[%d,%d,%d]", &gens, &pop, &nv); err != nil || nv != nvar || pop < 1 || gens < 1 || gens*pop > maxChainText/16 {
				return nil, fmt.Errorf("%s: header %q does not give [generations,chains,%d parameters]", rel, line, nvar)
			}
			series = make([][][]float64, nvar)
			for p := range series {
				series[p] = make([][]float64, pop)
				for c := range series[p] {
					series[p][c] = make([]float64, gens)
				}
			}
			continue
		}
		f := strings.Fields(line)
		if series == nil || len(f) != 1+nvar || row >= gens*pop {
			return nil, fmt.Errorf("%s line %d: not a row of logp and %d parameters of the shape its header gives", rel, row+2, nvar)
		}
		t, c := row/pop, row%pop
		for p := range nvar {
			v, err := strconv.ParseFloat(f[1+p], 64)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %q is not a number", rel, row+2, f[1+p])
			}
			series[p][c][t] = v
		}
		row++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", rel, err)
	}
	if series == nil || row != gens*pop {
		return nil, fmt.Errorf("%s: %d rows, its header says %d", rel, row, gens*pop)
	}
	return series, nil
}

// diagnose gives a Bumps DREAM result the same convergence checks as a
// native one (fit.Diagnose): rhat and ess per parameter, converged, and a
// warning when the intervals may be wrong.
func diagnose(store *jobfs.Dir, name string, res *Result) {
	series, err := readChains(store, name, len(res.ParameterOrder))
	if series == nil && err == nil {
		return // no chains: not a dream fit
	}
	res.Converged = false
	if err != nil {
		res.Warning = "convergence unknown: bumps' chains could not be read (" + err.Error() + "); the intervals may be wrong"
		return
	}
	d := fit.Diagnose(series, "draw more samples (--samples) or a longer burn-in (--burn)")
	res.Converged, res.Warning = d.Converged, d.Warning
	for p, label := range res.ParameterOrder {
		pr := res.Parameters[label]
		rhat, ess := fit.Float(d.Rhat[p]), fit.Float(d.ESS[p])
		pr.Rhat, pr.ESS = &rhat, &ess
		res.Parameters[label] = pr
	}
}
