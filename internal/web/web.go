// Package web serves bumpserve's pages under /ui/: sign in with an API
// token, submit fits, watch them run and read their results. Pages are
// rendered on the server with html/template from templates embedded in the
// binary; a little JavaScript (static/live.js) adds live updates and the
// convergence plot, and every page works without it.
//
// The pages are another face of the JSON API, not a second implementation:
// submissions go through (*server.Server).SubmitJob, job files through
// server.ServeFile, event streams through (*server.Server).StreamJob, and
// who may see which job is the server's to say (Job, ListJobs): the pages
// never speak to the store. What the pages add is a cookie session (the
// cookie holds the API token itself, looked up on every request so a
// revoked token stops working at once) and a CSRF token on every
// state-changing form.
package web

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/server"
)

// MaxUploadDefault bounds one submission's uploaded files, as the API's
// default does.
const MaxUploadDefault = server.MaxUploadDefault

// Config configures the pages.
type Config struct {
	API   *server.Server // checks and queues submissions
	Queue *queue.Queue
	Root  *jobdir.Root
	// Services are the service names this server runs, for the filters
	// and for offering the Bumps form only where Bumps runs.
	Services []string
	// SecretFile keeps the key CSRF tokens are derived from, so forms
	// open in a browser survive a restart; "" keeps a random key in memory.
	SecretFile string
	// Workers lists the remote workers for the admin page; nil shows
	// only the local slots.
	Workers    func(ctx context.Context) ([]server.WorkerInfo, error)
	LocalName  string // the local slots' worker name
	LocalSlots int    // the local slots in CPUs (0: dispatch only)
	MaxUpload  int64
	// BasePath is the prefix the site is served under (serve --base-path),
	// put in front of every link the pages write; "" at the root.
	BasePath string
	Logger   *slog.Logger
}

// Handler serves the pages. Mount it at /ui/.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	secret []byte
	pages  *pages
}

// New checks cfg, loads the CSRF key and parses the templates.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.API == nil:
		return nil, errors.New("web: Config.API is required")
	case cfg.Queue == nil:
		return nil, errors.New("web: Config.Queue is required")
	case cfg.Root == nil:
		return nil, errors.New("web: Config.Root is required")
	}
	cfg.MaxUpload = cmp.Or(cfg.MaxUpload, MaxUploadDefault)
	secret, err := loadSecret(cfg.SecretFile)
	if err != nil {
		return nil, err
	}
	p, err := parsePages(cfg.BasePath)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:    cfg,
		log:    cmp.Or(cfg.Logger, slog.Default()).With("component", "web"),
		mux:    http.NewServeMux(),
		secret: secret,
		pages:  p,
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET /ui/static/", staticHandler())
	m.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/jobs", http.StatusSeeOther)
	})
	m.HandleFunc("GET /ui/login", h.loginPage)
	m.HandleFunc("POST /ui/login", h.login)
	m.Handle("POST /ui/logout", h.form(h.logout))

	m.Handle("GET /ui/jobs", h.page(h.jobsPage))
	m.Handle("GET /ui/jobs/events", h.stream(h.listEvents))
	m.Handle("GET /ui/jobs/{id}", h.page(h.jobPage))
	m.Handle("GET /ui/jobs/{id}/events", h.stream(h.jobEvents))
	m.Handle("GET /ui/jobs/{id}/files/{path...}", h.stream(h.file))
	m.Handle("GET /ui/jobs/{id}/archive", h.stream(h.archive))
	m.Handle("GET /ui/jobs/{id}/series.csv", h.stream(h.seriesFile(serveCSV)))
	m.Handle("GET /ui/jobs/{id}/series.svg", h.stream(h.seriesFile(server.ServeSeriesPlot)))
	m.Handle("GET /ui/jobs/{id}/plot/{path...}", h.stream(h.drawnPlot))
	m.Handle("POST /ui/jobs/{id}/cancel", h.form(h.cancel))
	m.Handle("POST /ui/jobs/{id}/delete", h.form(h.deleteJob))
	m.Handle("POST /ui/jobs/{id}/stop", h.form(h.stop))
	m.Handle("POST /ui/jobs/{id}/keep", h.form(h.keep))
	m.Handle("POST /ui/jobs/{id}/continue", h.form(h.continueFit))
	m.Handle("POST /ui/jobs/{id}/copy", h.form(h.copyJob))

	m.Handle("GET /ui/submit", h.page(h.submitPage))
	m.Handle("POST /ui/submit", h.form(h.submit))
	m.Handle("GET /ui/admin", h.page(h.adminPage))
	m.Handle("POST /ui/admin", h.form(h.adminAction))
	m.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		h.notFound(w, r, nil)
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// The pages' own policy: scripts, styles and images only from this
	// origin, nothing may frame them, forms post only here.
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; "+
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}
