package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each the layout plus the page.
type pages struct {
	sets map[string]*template.Template
}

// view is what every page template gets.
type view struct {
	Title string
	S     *session // nil on the sign-in and error pages of strangers
	Nav   string   // the menu entry to mark as current
	// Refresh, if > 0, reloads the page that often when JavaScript is
	// off, so live states still move without it.
	Refresh int
	Data    any
}

// parsePages parses the templates; {{base}} in them is the base path,
// written before every site-absolute link ("{{base}}/ui/jobs").
func parsePages(base string) (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := maps.Clone(funcs)
	funcs["base"] = func() string { return base }
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		p.sets[base] = t
	}
	return p, nil
}

// render writes a page whole or, if its template fails, an error: the
// page is rendered to a buffer first so a half-written page never shows.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, page string, v *view) {
	var buf bytes.Buffer
	if err := h.pages.sets[page].Execute(&buf, v); err != nil {
		h.log.Error("render", "page", page, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// errorPage shows a message with a status code.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, s *session, code int, msg string) {
	h.render(w, r, code, "error", &view{Title: http.StatusText(code), S: s, Data: map[string]any{"Code": code, "Message": msg}})
}

// notFound is also the answer for another user's job: a page must not
// tell whether a job it will not show exists.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	h.errorPage(w, r, s, http.StatusNotFound, "There is no such page or job.")
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, s *session) {
	h.errorPage(w, r, s, http.StatusForbidden,
		"This form was refused: it did not come from a page of your current session. Reload the page and try again.")
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("page", "path", r.URL.Path, "err", err)
	h.errorPage(w, r, nil, http.StatusInternalServerError, "Something went wrong on the server; it has been logged.")
}

// staticHandler serves the embedded CSS and JavaScript.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/ui/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"num":        num,
	"pm":         plusMinus,
	"roundto":    roundTo,
	"chi":        chi,
	"corr":       fmtCorr,
	"fixed3":     func(v *float64) string { return fmtFixed(v, 3) },
	"fixed0":     func(v *float64) string { return fmtFixed(v, 0) },
	"searchScan": func() int { return searchScan },
	"time":       fmtTime,
	"duration":   duration,
	"bytes":      fmtBytes,
	"cputime":    cpuTime,
	"lower":      strings.ToLower,
	"live":       func(s job.State) bool { return !s.Terminal() },
	"pct":        func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
	"corrclass":  corrClass,
	"add":        func(a, b int) int { return a + b },
	// dict passes several values to a sub-template.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

// corrClass tints a correlation cell by sign and strength, with classes
// rather than inline styles, which the pages' policy forbids.
func corrClass(v float64) string {
	if math.IsNaN(v) {
		return "c0"
	}
	lvl := min(int(math.Abs(v)*4), 3) // 0: |r| < .25 … 3: |r| ≥ .75
	if v < 0 {
		return fmt.Sprintf("cn%d", lvl)
	}
	return fmt.Sprintf("cp%d", lvl)
}

// num formats a number for people: six significant digits; NaN and
// infinities (an undetermined uncertainty) as a dash.
func num(v any) string {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case *float64:
		if x == nil {
			return "–"
		}
		f = *x
	case int:
		return fmt.Sprint(x)
	default:
		return fmt.Sprint(v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return fmt.Sprintf("%.6g", f)
}

func fmtTime(t any) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return "–"
		}
		tt = *x
	}
	if tt.IsZero() {
		return "–"
	}
	return tt.UTC().Format("2006-01-02 15:04:05 UTC")
}

// duration is how long a job ran, from start to finish.
func duration(from, to *time.Time) string {
	if from == nil || to == nil {
		return "–"
	}
	d := to.Sub(*from)
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// cpuTime writes CPU-seconds in the unit that suits them: a short fit's
// charge in seconds, a facility's month in hours.
func cpuTime(sec float64) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("%.1f CPU-seconds", sec)
	case sec < 3600:
		return fmt.Sprintf("%.1f CPU-minutes", sec/60)
	}
	return fmt.Sprintf("%.2f CPU-hours", sec/3600)
}

func fmtBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
