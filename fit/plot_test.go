package fit

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func TestPlotCurves(t *testing.T) {
	t.Parallel()
	c := Curve{X: []float64{1, 2, 3, 4}, Y: []float64{1000, 100, 10, 1.5}, DY: []float64{30, 10, 3, 0.3},
		Resid: []float64{0.5, -1, 0.2, 0.1}, FitX: []float64{1, 2, 3, 4}, FitY: []float64{1010, 98, 10.3, 1.6},
		XLabel: "time (s)", YLabel: "counts"}
	var svg bytes.Buffer
	if err := PlotCurves(&svg, "svg", []Curve{c}); err != nil {
		t.Fatal(err)
	}
	// On a log y axis (four decades, clear of zero) the ticks are 10, 100, ...
	for _, want := range []string{"time (s)", "counts", ">data<", ">fit<", "(fit − y)/dy", ">10<", ">100<"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	var img bytes.Buffer
	if err := PlotCurves(&img, "png", []Curve{c}); err != nil {
		t.Fatal(err)
	}
	if im, err := png.Decode(&img); err != nil || im.Bounds().Dx() < 800 {
		t.Errorf("PNG: %v, %v", err, im)
	}
	if err := PlotCurves(&img, "gif", []Curve{c}); err == nil {
		t.Error("gif accepted")
	}
}
