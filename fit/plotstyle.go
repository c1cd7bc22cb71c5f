package fit

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Colours: data in cool colours and each fit in a warm one, so data and
// model are told apart at a glance and in grey (Okabe–Ito-like hues, which
// colour-blind readers can separate).
var (
	dataColors = []color.Color{
		color.NRGBA{R: 0x1f, G: 0x4e, B: 0x9c, A: 0xff}, // blue
		color.NRGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff}, // green
		color.NRGBA{R: 0x6a, G: 0x3d, B: 0x9a, A: 0xff}, // purple
		color.NRGBA{R: 0x56, G: 0xb4, B: 0xe9, A: 0xff}, // sky
	}
	fitColors = []color.Color{
		color.NRGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff}, // vermilion
		color.NRGBA{R: 0xcc, G: 0x3d, B: 0x8f, A: 0xff}, // magenta
		color.NRGBA{R: 0xb8, G: 0x86, B: 0x0b, A: 0xff}, // ochre
		color.NRGBA{R: 0x8b, G: 0x1a, B: 0x1a, A: 0xff}, // dark red
	}
	traceColors = append(append([]color.Color{}, dataColors...), fitColors...)
)

// Font sizes for a figure shown about 400 to 700 pixels wide: ticks stay
// readable when the page scales the figure down.
const (
	titleSize  = 15
	labelSize  = 14
	tickSize   = 12
	legendSize = 12
)

// newPlot is a plot with the house style: larger type, a light grid.
func newPlot() *plot.Plot {
	p := plot.New()
	p.Title.TextStyle.Font.Size = font.Length(titleSize)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Tick.Marker = shortTicks{}
		a.Label.TextStyle.Font.Size = font.Length(labelSize)
		a.Tick.Label.Font.Size = font.Length(tickSize)
		a.Padding = vg.Points(4)
	}
	p.Legend.TextStyle.Font.Size = font.Length(legendSize)
	p.Legend.ThumbnailWidth = vg.Points(22)
	return p
}

// pngDPI makes PNGs sharp on high-density screens.
const pngDPI = 144

// saveBoth draws a figure of w × h as base.svg and as base.png.
func saveBoth(base string, w, h vg.Length, drawFig func(draw.Canvas)) error {
	for _, format := range []string{"svg", "png"} {
		if err := writeFile(base+"."+format, func(out io.Writer) error { return render(out, format, w, h, drawFig) }); err != nil {
			return err
		}
	}
	return nil
}

// render draws a figure into w as "svg" or "png".
func render(w io.Writer, format string, wd, ht vg.Length, drawFig func(draw.Canvas)) error {
	switch format {
	case "svg":
		c := vgsvg.New(wd, ht)
		drawFig(whiteCanvas(c, wd, ht))
		_, err := c.WriteTo(w)
		return err
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(wd, ht), vgimg.UseDPI(pngDPI))
		drawFig(whiteCanvas(c, wd, ht))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	}
	return fmt.Errorf("format %q: accepted svg, png", format)
}

// whiteCanvas paints the background, so a figure downloaded and shown on
// a dark page still reads.
func whiteCanvas(c vg.CanvasSizer, w, h vg.Length) draw.Canvas {
	dc := draw.New(c)
	c.SetColor(color.White)
	var r vg.Path
	r.Move(vg.Point{})
	r.Line(vg.Point{X: w})
	r.Line(vg.Point{X: w, Y: h})
	r.Line(vg.Point{Y: h})
	r.Close()
	c.Fill(r)
	return dc
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	b := bufio.NewWriter(f)
	if err := write(b); err != nil {
		f.Close()
		return err
	}
	if err := b.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shortTicks are gonum's default ticks labelled with no more digits than
// they need: 2.5 and 5, not 2.50 and 5.00.
type shortTicks struct{}

func (shortTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 6, 64)
		}
	}
	return ts
}
