package web

import (
	"bytes"
	"cmp"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// plot is a figure on a job's page: the image shown (SVG where there is
// one), and each format it can be downloaded in.
type plot struct {
	URL, Caption, Name string
	SVG, PNG           string // download links; "" when the format is missing
	Main               bool   // the data and the fit: shown wide, first
}

// knownPlots are the figures native fits write (each as .svg and .png),
// in the order a fitter reads them: the fit itself, then DREAM's.
var knownPlots = []struct{ name, caption string }{
	{"fit", "Data, fit and residuals"},
	{"hist", "Parameter histograms"},
	{"corr", "Pairwise correlations"},
	{"trace", "Trace of the log posterior"},
}

// bumpsPlots names the PNGs Bumps writes by their suffix.
var bumpsPlots = []struct{ suffix, caption string }{
	{"-model.png", "Bumps' plot of the data with the model"},
	{"-hist.png", "Parameter histograms"},
	{"-var.png", "Parameter histograms"},
	{"-vars.png", "Parameter histograms"},
	{"-corr.png", "Pairwise correlations"},
	{"-parcor.png", "Pairwise correlations"},
	{"-trace.png", "Trace"},
	{"-logp.png", "Log-likelihood"},
	{"-convergence.png", "Convergence"},
}

// maxDatBytes bounds a Bumps .dat file drawn on request.
const maxDatBytes = 8 << 20

// plotsOf picks the figures to show: the native plots in their order; for
// a Bumps fit, a figure of its .dat (x y dy fy) drawn here in the native
// plots' style, then Bumps' own PNGs; then any other image under output/.
// Images are shown with <img>, in which an SVG's scripts never run.
func plotsOf(files []jobdir.File, base, drawn string) []plot {
	have := map[string]bool{}
	for _, f := range files {
		have[f.Path] = true
	}
	var out []plot
	shown := map[string]bool{}
	for _, k := range knownPlots {
		svg, png := "output/"+k.name+".svg", "output/"+k.name+".png"
		if !have[svg] && !have[png] {
			continue
		}
		p := plot{Caption: k.caption, Name: svg, Main: k.name == "fit"}
		if have[svg] {
			p.SVG, p.URL = base+escapePath(svg), base+escapePath(svg)
		}
		if have[png] {
			p.PNG = base + escapePath(png)
			p.URL = cmp.Or(p.URL, p.PNG)
		}
		out = append(out, p)
		shown[svg], shown[png] = true, true
	}
	for _, f := range files {
		if stem, ok := bumpsDat(f.Path); ok {
			u := drawn + escapePath(stem)
			out = append(out, plot{URL: u + ".svg", SVG: u + ".svg", PNG: u + ".png", Name: f.Path, Main: true,
				Caption: "Data, fit and residuals (drawn from " + path.Base(f.Path) + ")"})
		}
	}
	for _, f := range files {
		ext := strings.ToLower(path.Ext(f.Path))
		if shown[f.Path] || !strings.HasPrefix(f.Path, "output/") || (ext != ".png" && ext != ".svg") {
			continue
		}
		caption := path.Base(f.Path)
		for _, b := range bumpsPlots {
			if strings.HasSuffix(strings.ToLower(f.Path), b.suffix) {
				caption = b.caption + " (" + path.Base(f.Path) + ")"
				break
			}
		}
		u := base + escapePath(f.Path)
		p := plot{URL: u, Caption: caption, Name: f.Path}
		if ext == ".png" {
			p.PNG = u
		} else {
			p.SVG = u
		}
		out = append(out, p)
	}
	return out
}

// bumpsDat recognises the data-and-theory file Bumps stores beside its
// model plot, output/.../<stem>.dat, returning its path under output/
// without the extension.
func bumpsDat(p string) (string, bool) {
	if !strings.HasPrefix(p, "output/") || !strings.HasSuffix(p, ".dat") {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimPrefix(p, "output/"), ".dat"), true
}

// drawnPlot draws a Bumps fit's output/<stem>.dat (columns x y dy fy) as
// SVG or PNG in the native plots' style, so a Bumps fit's figure has a
// legend, distinct colours and both formats too.
func (h *Handler) drawnPlot(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	name := r.PathValue("path")
	format := strings.TrimPrefix(path.Ext(name), ".")
	stem := strings.TrimSuffix(name, path.Ext(name))
	// The job directory's door (jobdir, jobfs) refuses any path that
	// leaves output/ or passes a link.
	if !slices.Contains([]string{"svg", "png"}, format) || stem == "" {
		h.notFound(w, r, s)
		return
	}
	f, _, err := h.cfg.Root.Job(j.ID).Open("output/" + stem + ".dat")
	if err != nil {
		h.notFound(w, r, s)
		return
	}
	defer f.Close()
	cols, err := fit.ReadColumns(io.LimitReader(f, maxDatBytes), []string{"x", "y", "dy", "fy"})
	if err != nil || len(cols[0]) == 0 {
		h.errorPage(w, r, s, http.StatusUnprocessableEntity, "output/"+stem+".dat cannot be drawn: it is not four columns x y dy fy.")
		return
	}
	c := fit.Curve{X: cols[0], Y: cols[1], DY: cols[2], FitX: cols[0], FitY: cols[3], Resid: make([]float64, len(cols[0]))}
	for i := range c.Resid {
		c.Resid[i] = (cols[3][i] - cols[1][i]) / cols[2][i]
	}
	var buf bytes.Buffer
	if err := fit.PlotCurves(&buf, format, []fit.Curve{c}); err != nil {
		h.serverError(w, r, err)
		return
	}
	ct := map[string]string{"svg": "image/svg+xml", "png": "image/png"}[format]
	w.Header().Set("Content-Type", ct)
	// As for a job's own files: nothing in it may run, even opened directly.
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("Cache-Control", "private, max-age=60")
	w.Write(buf.Bytes())
}
