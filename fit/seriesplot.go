package fit

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Size of a series plot: several sit side by side on a series' page.
const seriesW, seriesH = 5 * vg.Inch, 3.2 * vg.Inch

// PlotSeries draws one parameter of a fit series against the series'
// x values, with its standard errors as bars (a NaN error draws none),
// as "svg" or "png" into w, in the house style of the fit plots.
func PlotSeries(w io.Writer, format, xlabel, ylabel string, x, y, dy []float64) error {
	if len(x) != len(y) || len(y) != len(dy) {
		return fmt.Errorf("plot series: %d x, %d y and %d errors", len(x), len(y), len(dy))
	}
	p := newPlot()
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	var pts plotter.XYs
	var errs plotter.YErrors
	for i := range x {
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			continue
		}
		e := dy[i]
		if math.IsNaN(e) || math.IsInf(e, 0) {
			e = 0
		}
		pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		errs = append(errs, struct{ Low, High float64 }{e, e})
	}
	if len(pts) > 0 {
		col := dataColors[0]
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = col, vg.Points(2.6), draw.CircleGlyph{}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return err
		}
		eb.Color, eb.CapWidth = col, vg.Points(4)
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.Color, line.Width = col, vg.Points(0.8)
		p.Add(line, eb, sc)
	}
	return render(w, format, seriesW, seriesH, func(c draw.Canvas) { p.Draw(c) })
}
