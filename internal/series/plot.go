package series

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/job"
)

// Plot draws parameter name against the rows' x values, with its
// standard errors as bars, as SVG; only completed fits have a point.
func (t *Table) Plot(w io.Writer, name string) error {
	if !slices.Contains(t.Parameters, name) {
		return fmt.Errorf("parameter %q is not in the series (accepted: %v)", name, t.Parameters)
	}
	var x, y, dy []float64
	for _, r := range t.Rows {
		p, ok := r.Params[name]
		if r.State != job.Complete || !ok {
			continue
		}
		e := math.NaN()
		if p.Stderr != nil {
			e = *p.Stderr
		}
		x, y, dy = append(x, r.X), append(y, p.Value), append(dy, e)
	}
	return fit.PlotSeries(w, "svg", XLabel(t.X), name, x, y, dy)
}
