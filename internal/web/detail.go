package web

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/server"
)

// logTailBytes is how much of the end of a job's log its page shows.
const logTailBytes = 16 << 10

type jobData struct {
	Job       *job.Job
	Admin     bool
	Results   *results
	RawResult string // a results document of another shape
	Plots     []plot
	Files     []fileLink
	LogTail   string
	LogCut    bool // the log is longer than its tail
	LogPath   string
	Resubmit  string // URL of the form prefilled from this job; "" if none
	Submitted bool   // the page right after submission
}

type plot struct {
	URL, Caption, Name string
}

type fileLink struct {
	Path string
	Size int64
	URL  string
}

// knownPlots are the plots native fits write, in the order a fitter reads
// them: the fit itself, its residuals, then DREAM's uncertainty plots.
var knownPlots = []struct{ name, caption string }{
	{"fit.svg", "Data with the fit"},
	{"residuals.svg", "Residuals"},
	{"hist.svg", "Parameter histograms"},
	{"corr.svg", "Pairwise correlations"},
	{"trace.svg", "Trace"},
}

// bumpsPlots names the PNGs Bumps writes by their suffix.
var bumpsPlots = []struct{ suffix, caption string }{
	{"-model.png", "Data with the model"},
	{"-hist.png", "Parameter histograms"},
	{"-var.png", "Parameter histograms"},
	{"-corr.png", "Pairwise correlations"},
	{"-trace.png", "Trace"},
	{"-logp.png", "Log-likelihood"},
	{"-convergence.png", "Convergence"},
}

func (h *Handler) jobPage(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	d := jobData{Job: j, Admin: server.IsAdmin(s.User), Submitted: r.URL.Query().Has("submitted")}
	if res, ok := parseResults(j.Result); ok {
		d.Results = res
	} else if len(j.Result) > 0 {
		d.RawResult = prettyJSON(j.Result)
	}
	if j.Service == "fit" || j.Service == "bumps" {
		d.Resubmit = fmt.Sprintf("/ui/submit?from=%d", j.ID)
	}
	dir := h.cfg.Root.Job(j.ID)
	files, err := dir.List()
	if err != nil {
		h.log.Warn("list job files", "job", j.ID, "err", err)
	}
	base := fmt.Sprintf("/ui/jobs/%d/files/", j.ID)
	for _, f := range files {
		d.Files = append(d.Files, fileLink{Path: f.Path, Size: f.Size, URL: base + escapePath(f.Path)})
	}
	d.Plots = plotsOf(files, base)
	d.LogPath, d.LogTail, d.LogCut = logTail(dir, files)
	v := &view{Title: fmt.Sprintf("Job %d", j.ID), S: s, Nav: "jobs", Data: d}
	if !j.State.Terminal() {
		v.Refresh = 3
	}
	h.render(w, r, http.StatusOK, "job", v)
}

// plotsOf picks the images to show inline: the known native plots in
// their order, then any other PNG or SVG under output/. They are shown
// with <img>, in which an SVG's scripts never run.
func plotsOf(files []jobdir.File, base string) []plot {
	have := map[string]bool{}
	for _, f := range files {
		have[f.Path] = true
	}
	var out []plot
	shown := map[string]bool{}
	for _, k := range knownPlots {
		p := "output/" + k.name
		if have[p] {
			out = append(out, plot{URL: base + escapePath(p), Caption: k.caption, Name: p})
			shown[p] = true
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
		out = append(out, plot{URL: base + escapePath(f.Path), Caption: caption, Name: f.Path})
	}
	return out
}

// logTail reads the end of the job's log: job.log (output/job.log once
// the attempt ended, the running attempt's before), or else the first
// .mon (Bumps' own log) under output/.
func logTail(dir jobdir.Dir, files []jobdir.File) (name, tail string, cut bool) {
	name = "output/" + jobdir.LogName
	b, cut, err := dir.LogTail(logTailBytes)
	if err != nil {
		for _, f := range files {
			if strings.HasPrefix(f.Path, "output/") && strings.HasSuffix(f.Path, ".mon") {
				name = f.Path
				break
			}
		}
		if !strings.HasSuffix(name, ".mon") {
			return "", "", false
		}
		if b, cut, err = jobfs.Tail(string(dir), name, logTailBytes); err != nil {
			return "", "", false
		}
	}
	text := strings.ToValidUTF8(string(b), "\uFFFD")
	if cut {
		// Start at a whole line.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	return name, text, cut
}

// escapePath escapes each part of a slash-separated path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
