package fit

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Most points a scatter or trace plot draws; beyond that SVGs get large
// and no more informative.
const (
	maxScatter = 2000
	maxTraces  = 20
)

// writePlots writes every plot, returning the errors of those that failed
// so one bad plot does not hide the others.
func writePlots(dir string, res *Result) []error {
	var errs []error
	save := func(name string, f func(string) error) {
		if err := f(filepath.Join(dir, name)); err != nil {
			errs = append(errs, fmt.Errorf("plot %s: %w", name, err))
		}
	}
	save("fit.svg", res.fit.plotFit)
	save("residuals.svg", res.fit.plotResiduals)
	if len(res.fit.samples) > 0 {
		save("hist.svg", res.fit.plotHist)
		save("corr.svg", res.fit.plotCorr)
		save("trace.svg", res.fit.plotTrace)
	}
	return errs
}

// abscissa is what a dataset is plotted against: x, else its first
// variable, else the point index.
func (d *dataSet) abscissa() ([]float64, string) {
	if len(d.vars) > 0 {
		return d.vars[0], "x"
	}
	idx := make([]float64, len(d.y))
	for i := range idx {
		idx[i] = float64(i)
	}
	return idx, "point"
}

func (f *fitDetail) plotFit(path string) error {
	p := plot.New()
	p.Title.Text = "Fit"
	p.Y.Label.Text = "y"
	full := make([]float64, len(f.p.names))
	f.p.fill(f.x, full)
	for i, d := range f.p.sets {
		xs, label := d.abscissa()
		p.X.Label.Text = label
		pts := make(plotter.XYs, len(d.y))
		errs := make(plotter.YErrors, len(d.y))
		for j := range d.y {
			pts[j] = plotter.XY{X: xs[j], Y: d.y[j]}
			errs[j].Low, errs[j].High = 1/d.w[j], 1/d.w[j]
		}
		col := plotutil.Color(i)
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = col
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return err
		}
		eb.Color = col
		line, err := plotter.NewLine(f.curve(&d, full, xs))
		if err != nil {
			return err
		}
		line.Color = col
		p.Add(sc, eb, line)
		if d.name != "" {
			p.Legend.Add(d.name, sc, line)
		}
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// curve is the model on a fine grid when x is its only variable, else at
// the data points in order of the abscissa.
func (f *fitDetail) curve(d *dataSet, full, xs []float64) plotter.XYs {
	if len(d.vars) == 1 && len(d.y) > 1 {
		lo, hi := slices.Min(xs), slices.Max(xs)
		const n = 400
		grid := make([]float64, n)
		for i := range grid {
			grid[i] = lo + (hi-lo)*float64(i)/(n-1)
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

func (f *fitDetail) plotResiduals(path string) error {
	p := plot.New()
	p.Title.Text = "Residuals"
	p.Y.Label.Text = "(model - y) / dy"
	for i, d := range f.p.sets {
		xs, label := d.abscissa()
		p.X.Label.Text = label
		pts := make(plotter.XYs, len(d.y))
		for j := range d.y {
			pts[j] = plotter.XY{X: xs[j], Y: f.r[d.off+j]}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = plotutil.Color(i)
		p.Add(sc)
	}
	p.Add(plotter.NewGrid())
	return p.Save(7*vg.Inch, 3.5*vg.Inch, path)
}

func (f *fitDetail) freeName(j int) string { return f.p.names[f.p.free[j]] }

func (f *fitDetail) plotHist(path string) error {
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
		p := plot.New()
		p.X.Label.Text = f.freeName(j)
		h, err := plotter.NewHist(vals, 40)
		if err != nil {
			return err
		}
		h.FillColor = color.Gray{Y: 160}
		p.Add(h)
		grid[j/cols][j%cols] = p
	}
	return saveGrid(path, grid, vg.Length(cols)*3*vg.Inch, vg.Length(rows)*2.5*vg.Inch)
}

func (f *fitDetail) plotCorr(path string) error {
	d := f.p.dim()
	stride := max(1, len(f.samples)/maxScatter)
	grid := make([][]*plot.Plot, d)
	for r := range d {
		grid[r] = make([]*plot.Plot, d)
		for c := range r + 1 {
			p := plot.New()
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
			sc.GlyphStyle.Radius = vg.Points(0.8)
			p.Add(sc)
		}
	}
	size := vg.Length(max(d, 2)) * 2 * vg.Inch
	return saveGrid(path, grid, size, size)
}

func (f *fitDetail) plotTrace(path string) error {
	p := plot.New()
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
		l.Color = plotutil.Color(c)
		p.Add(l)
	}
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}

// saveGrid draws a grid of plots (nil cells stay empty) into one SVG.
func saveGrid(path string, grid [][]*plot.Plot, w, h vg.Length) error {
	img := vgsvg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: vg.Millimeter, PadY: vg.Millimeter,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, dc)
	for r := range grid {
		for c, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
