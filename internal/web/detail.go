package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bumpserve/bumpserve/api"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/server"
)

// logTailBytes is how much of the end of a job's log its page shows.
const logTailBytes = 16 << 10

type jobData struct {
	Job   *job.Job
	Admin bool
	// CanChange: the user owns the job or is an admin; a member of a
	// group it is shared with only reads it (no forms that change it).
	CanChange bool
	// Others: the job is someone else's (its owner is shown).
	Others    bool
	Results   *results
	RawResult string // a results document of another shape
	Plots     []plot
	Files     []fileLink
	LogTail   string
	LogCut    bool // the log is longer than its tail
	LogPath   string
	Resubmit  string // URL of the form prefilled from this job; "" if none
	// Notifications and their delivery log, shown to the owner only.
	Notifications *api.JobNotifications
	Submitted     bool        // the page right after submission
	Series        *seriesData // a series parent's table and plots
}

type fileLink struct {
	Path string
	Size int64
	URL  string
}

func (h *Handler) jobPage(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	d := jobData{Job: j, Admin: server.IsAdmin(s.User), Submitted: r.URL.Query().Has("submitted"),
		CanChange: server.CanChange(s.User, j), Others: j.Owner != s.User.Name}
	if j.Series != nil {
		sd, err := h.seriesOf(r, j)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		d.Series = sd
	} else if res, ok := parseResults(j.Result); ok {
		d.Results = res
	} else if len(j.Result) > 0 {
		d.RawResult = prettyJSON(j.Result)
	}
	if (j.Service == "fit" || j.Service == "bumps") && j.Series == nil {
		d.Resubmit = fmt.Sprintf("%s/ui/submit?from=%d", h.cfg.BasePath, j.ID)
	}
	dir := h.cfg.Root.Job(j.ID)
	files, err := dir.List()
	if err != nil {
		h.log.Warn("list job files", "job", j.ID, "err", err)
	}
	base := fmt.Sprintf("%s/ui/jobs/%d/files/", h.cfg.BasePath, j.ID)
	for _, f := range files {
		d.Files = append(d.Files, fileLink{Path: f.Path, Size: f.Size, URL: base + escapePath(f.Path)})
	}
	d.Plots = plotsOf(files, base, fmt.Sprintf("%s/ui/jobs/%d/plot/", h.cfg.BasePath, j.ID))
	d.LogPath, d.LogTail, d.LogCut = logTail(dir, files)
	if j.Owner == s.User.Name {
		if jn, err := h.cfg.API.JobNotifications(r.Context(), s.User, j.ID); err != nil {
			h.log.Warn("job notifications", "job", j.ID, "err", err)
		} else if len(jn.Notifications) > 0 {
			d.Notifications = jn
		}
	}
	v := &view{Title: fmt.Sprintf("Job %d", j.ID), S: s, Nav: "jobs", Data: d}
	if !j.State.Terminal() {
		v.Refresh = 3
	}
	h.render(w, r, http.StatusOK, "job", v)
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
