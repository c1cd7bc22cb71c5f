package fit

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Most points a scatter or trace plot draws; beyond that files get large
// and no more informative.
const (
	maxScatter = 2000
	maxTraces  = 20
)

// writePlots writes every plot as SVG and PNG, returning the errors of
// those that failed so one bad plot does not hide the others.
func writePlots(dir string, res *Result) []error {
	var errs []error
	save := func(name string, f func(string) error) {
		if err := f(filepath.Join(dir, name)); err != nil {
			errs = append(errs, fmt.Errorf("plot %s: %w", name, err))
		}
	}
	save("fit", res.fit.plotFit)
	if len(res.fit.samples) > 0 {
		save("hist", res.fit.plotHist)
		save("corr", res.fit.plotCorr)
		save("trace", res.fit.plotTrace)
	}
	return errs
}

// abscissa is what a dataset is plotted against: its first variable
// (named as the model names it), else the point index.
func (d *dataSet) abscissa() ([]float64, string) {
	if len(d.vars) > 0 {
		return d.vars[0], cmp.Or(d.xvar, "x")
	}
	idx := make([]float64, len(d.y))
	for i := range idx {
		idx[i] = float64(i)
	}
	return idx, "point"
}

// logAxis decides an axis' scale: as the spec says, else logarithmic when
// every value is positive and they span more than two decades.
func logAxis(scale string, vals ...[]float64) bool {
	switch scale {
	case "log":
		return true
	case "linear":
		return false
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, vs := range vals {
		for _, v := range vs {
			if !(v > 0) || math.IsInf(v, 0) {
				return false
			}
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return hi/lo > 100
}

// positive keeps the points a log axis can show.
func positive(pts plotter.XYs, xlog, ylog bool) plotter.XYs {
	out := pts[:0:0]
	for _, p := range pts {
		if (!xlog || p.X > 0) && (!ylog || p.Y > 0) {
			out = append(out, p)
		}
	}
	return out
}

// plotFit draws the data with error bars and the model over them, and
// below, on the same x axis, the normalised residuals.
func (f *fitDetail) plotFit(base string) error {
	full := make([]float64, len(f.p.names))
	f.p.fill(f.x, full)
	var sets []Curve
	for _, d := range f.p.sets {
		xs, xname := d.abscissa()
		c := Curve{Name: d.name, X: xs, Y: d.y, DY: make([]float64, len(d.y)), Resid: f.r[d.off : d.off+len(d.y)],
			XLabel: cmp.Or(d.plot.XLabel, xname), YLabel: cmp.Or(d.plot.YLabel, "y"), XScale: d.plot.XScale, YScale: d.plot.YScale}
		for j := range d.y {
			c.DY[j] = 1 / d.w[j]
		}
		for _, pt := range f.curve(&d, full, xs) {
			c.FitX, c.FitY = append(c.FitX, pt.X), append(c.FitY, pt.Y)
		}
		sets = append(sets, c)
	}
	fig, err := fitFigure(sets)
	if err != nil {
		return err
	}
	return saveBoth(base, fitW, fitH, fig)
}

// The size of a data-and-fit figure.
const (
	fitW = 6.4 * vg.Inch
	fitH = 5 * vg.Inch
)

// Curve is one dataset of a data-and-fit figure: its points with error
// bars, the fit drawn through FitX, FitY, and the normalised residuals
// (fit − y)/dy at the points. The first curve's labels and scales are the
// figure's.
type Curve struct {
	Name            string
	X, Y, DY, Resid []float64
	FitX, FitY      []float64
	XLabel, YLabel  string
	XScale, YScale  string // "", "linear" or "log"
}

// PlotCurves writes a data-and-fit figure with its residuals panel, as
// format "svg" or "png", for data fitted elsewhere (a Bumps model's .dat).
func PlotCurves(w io.Writer, format string, sets []Curve) error {
	if len(sets) == 0 {
		return fmt.Errorf("no data to plot")
	}
	fig, err := fitFigure(sets)
	if err != nil {
		return err
	}
	return render(w, format, fitW, fitH, fig)
}

// fitFigure lays out the data-and-fit figure: data in cool colours with
// error bars, each fit a warm line, a legend, and the residuals below on
// the same x axis with lines at ±1.
func fitFigure(sets []Curve) (func(draw.Canvas), error) {
	top, bottom := newPlot(), newPlot()
	multi := len(sets) > 1
	// The y axis turns logarithmic by itself only when every point stands
	// clear of zero by its error bar: a span of decades made by a few noisy
	// points near zero is better read on a linear axis.
	var allX, allY, lows []float64
	for _, c := range sets {
		allX, allY = append(allX, c.X...), append(allY, c.Y...)
		for j, y := range c.Y {
			lows = append(lows, y-c.DY[j])
		}
	}
	first := sets[0]
	xlog := logAxis(first.XScale, allX)
	ylog := logAxis(first.YScale, allY, lows)
	bottom.X.Label.Text = cmp.Or(first.XLabel, "x")
	top.Y.Label.Text = cmp.Or(first.YLabel, "y")
	for i, c := range sets {
		var pts, res plotter.XYs
		var errs plotter.YErrors
		for j := range c.Y {
			pt := plotter.XY{X: c.X[j], Y: c.Y[j]}
			if (xlog && pt.X <= 0) || (ylog && pt.Y <= 0) {
				continue
			}
			dy := c.DY[j]
			lo := dy
			if ylog {
				// A bar reaching zero or below runs off a log axis.
				lo = min(dy, 0.9*pt.Y)
			}
			pts = append(pts, pt)
			errs = append(errs, struct{ Low, High float64 }{lo, dy})
			res = append(res, plotter.XY{X: c.X[j], Y: c.Resid[j]})
		}
		fitPts := make(plotter.XYs, len(c.FitX))
		for j := range c.FitX {
			fitPts[j] = plotter.XY{X: c.FitX[j], Y: c.FitY[j]}
		}
		dataCol, fitCol := dataColors[i%len(dataColors)], fitColors[i%len(fitColors)]
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = dataCol, vg.Points(2.6), draw.CircleGlyph{}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return nil, err
		}
		eb.Color, eb.CapWidth = dataCol, vg.Points(4)
		line, err := plotter.NewLine(positive(fitPts, xlog, ylog))
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = fitCol, vg.Points(2)
		top.Add(eb, sc, line)
		name := ""
		if multi {
			name = c.Name + " "
		}
		top.Legend.Add(name+"data", sc)
		top.Legend.Add(name+"fit", line)

		rs, err := plotter.NewScatter(res)
		if err != nil {
			return nil, err
		}
		rs.Color, rs.GlyphStyle.Radius, rs.GlyphStyle.Shape = dataCol, vg.Points(2.2), draw.CircleGlyph{}
		bottom.Add(rs)
	}
	bottom.Y.Label.Text = "(fit − y)/dy"
	for _, level := range []float64{-1, 0, 1} {
		l := plotter.NewFunction(func(float64) float64 { return level })
		l.Color, l.Width = color.Gray{Y: 120}, vg.Points(1)
		if level != 0 {
			l.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
		}
		bottom.Add(l)
	}
	if xlog {
		top.X.Scale, top.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		bottom.X.Scale, bottom.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if ylog {
		top.Y.Scale, top.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	} else {
		// Head room for the legend above the data.
		top.Y.Max += 0.12 * (top.Y.Max - top.Y.Min)
	}
	// One x range for both panels, so a residual sits under its point.
	top.X.Min, top.X.Max = min(top.X.Min, bottom.X.Min), max(top.X.Max, bottom.X.Max)
	bottom.X.Min, bottom.X.Max = top.X.Min, top.X.Max
	// The residuals' scale is symmetric about zero.
	m := max(math.Abs(bottom.Y.Min), math.Abs(bottom.Y.Max), 1)
	bottom.Y.Min, bottom.Y.Max = -1.1*m, 1.1*m
	top.X.Tick.Label.Color = color.Transparent // the residuals' axis below says it
	top.Legend.Top = true
	return func(dc draw.Canvas) {
		split := dc.Min.Y + 0.3*(dc.Max.Y-dc.Min.Y)
		upper, lower := dc, dc
		upper.Min.Y, lower.Max.Y = split, split
		alignX([]*plot.Plot{top, bottom}, []draw.Canvas{upper, lower})
	}, nil
}

// alignX draws plots stacked in canvases so their data areas share left and
// right edges, whatever the widths of their y tick labels.
func alignX(ps []*plot.Plot, cs []draw.Canvas) {
	var left, right vg.Length
	for i, p := range ps {
		dc := p.DataCanvas(cs[i])
		left = max(left, dc.Min.X-cs[i].Min.X)
		right = max(right, cs[i].Max.X-dc.Max.X)
	}
	for i, p := range ps {
		dc := p.DataCanvas(cs[i])
		c := cs[i]
		c.Min.X += left - (dc.Min.X - cs[i].Min.X)
		c.Max.X -= right - (cs[i].Max.X - dc.Max.X)
		p.Draw(c)
	}
}

// curve is the model on a fine grid when x is its only variable, else at
// the data points in order of the abscissa.
func (f *fitDetail) curve(d *dataSet, full, xs []float64) plotter.XYs {
	if len(d.vars) == 1 && len(d.y) > 1 {
		lo, hi := slices.Min(xs), slices.Max(xs)
		const n = 400
		grid := make([]float64, n)
		logx := logAxis(d.plot.XScale, xs)
		for i := range grid {
			t := float64(i) / (n - 1)
			grid[i] = lo + (hi-lo)*t
			if logx {
				grid[i] = lo * math.Pow(hi/lo, t)
			}
		}
		out := make([]float64, n)
		d.f.Eval(out, [][]float64{grid}, full)
		pts := make(plotter.XYs, 0, n)
		for i := range grid {
			if !math.IsNaN(out[i]) && !math.IsInf(out[i], 0) {
				pts = append(pts, plotter.XY{X: grid[i], Y: out[i]})
			}
		}
		return pts
	}
	pts := make(plotter.XYs, len(d.y))
	for j := range d.y {
		// r = (f - y) w, so f = y + r/w.
		pts[j] = plotter.XY{X: xs[j], Y: d.y[j] + f.r[d.off+j]/d.w[j]}
	}
	slices.SortFunc(pts, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return pts
}

func (f *fitDetail) freeName(j int) string { return f.p.names[f.p.free[j]] }

func (f *fitDetail) plotHist(base string) error {
	d := f.p.dim()
	cols := int(math.Ceil(math.Sqrt(float64(d))))
	rows := (d + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for j := range d {
		vals := make(plotter.Values, len(f.samples))
		for i, s := range f.samples {
			vals[i] = s[j]
		}
		p := newPlot()
		p.X.Label.Text = f.freeName(j)
		p.Y.Label.Text = "draws"
		h, err := plotter.NewHist(vals, 40)
		if err != nil {
			return err
		}
		h.FillColor, h.LineStyle.Color = dataColors[0], color.White
		p.Add(h)
		grid[j/cols][j%cols] = p
	}
	return saveGrid(base, grid, vg.Length(cols)*3.2*vg.Inch, vg.Length(rows)*2.6*vg.Inch)
}

func (f *fitDetail) plotCorr(base string) error {
	d := f.p.dim()
	stride := max(1, len(f.samples)/maxScatter)
	grid := make([][]*plot.Plot, d)
	for r := range d {
		grid[r] = make([]*plot.Plot, d)
		for c := range r + 1 {
			p := newPlot()
			if r == d-1 {
				p.X.Label.Text = f.freeName(c)
			}
			if c == 0 {
				p.Y.Label.Text = f.freeName(r)
			}
			grid[r][c] = p
			if r == c {
				// A corner plot's diagonal: the parameter's own
				// distribution (a scatter of it against itself says nothing).
				vals := make(plotter.Values, len(f.samples))
				for i, s := range f.samples {
					vals[i] = s[c]
				}
				h, err := plotter.NewHist(vals, 30)
				if err != nil {
					return err
				}
				h.FillColor, h.LineStyle.Color = dataColors[0], color.White
				p.Add(h)
				continue
			}
			var pts plotter.XYs
			for i := 0; i < len(f.samples); i += stride {
				pts = append(pts, plotter.XY{X: f.samples[i][c], Y: f.samples[i][r]})
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = vg.Points(1), draw.CircleGlyph{}
			sc.Color = color.NRGBA{R: 0x1f, G: 0x4e, B: 0x9c, A: 0x70}
			p.Add(sc)
		}
	}
	size := vg.Length(max(d, 2)) * 2.2 * vg.Inch
	return saveGrid(base, grid, size, size)
}

func (f *fitDetail) plotTrace(base string) error {
	p := newPlot()
	p.Title.Text = "log posterior per chain"
	p.X.Label.Text = "generation"
	p.Y.Label.Text = "log p"
	nc := len(f.logp[0])
	for c := 0; c < min(nc, maxTraces); c++ {
		stride := max(1, len(f.logp)/maxScatter)
		var pts plotter.XYs
		for g := 0; g < len(f.logp); g += stride {
			if v := f.logp[g][c]; !math.IsInf(v, 0) && !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(g + 1), Y: v})
			}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = traceColors[c%len(traceColors)]
		p.Add(l)
	}
	return saveBoth(base, 6.4*vg.Inch, 4*vg.Inch, func(dc draw.Canvas) { p.Draw(dc) })
}

// saveGrid draws a grid of plots (nil cells stay empty) as SVG and PNG.
func saveGrid(base string, grid [][]*plot.Plot, w, h vg.Length) error {
	return saveBoth(base, w, h, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: 2 * vg.Millimeter, PadY: 2 * vg.Millimeter,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(grid, tiles, dc)
		for r := range grid {
			for c, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][c])
				}
			}
		}
	})
}
