// Package server is the job controller: the JSON API under /api/v1, the
// event streams, safe serving of job files, health and metrics. Every
// route resolves the caller from a bearer token; a job the caller may not
// see is answered exactly like one that does not exist (404).
package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Defaults for Config.
const (
	MaxJSONDefault      = 8 << 20   // a job document without files
	MaxUploadDefault    = 256 << 20 // a whole multipart submission
	MaxQueuedDefault    = 10000     // PENDING jobs per user
	SubmitRateDefault   = 100       // submissions per second per user
	MaxCPUsPerJobDefult = 64
)

// Config configures a Server.
type Config struct {
	Store      store.Store
	Queue      *queue.Queue
	Root       *jobdir.Root
	Services   service.Registry
	Caps       job.Limits // limits a spec may lower but not raise
	MaxCPUs    int        // widest job accepted (resources.cpus)
	MaxJSON    int64
	MaxUpload  int64
	MaxQueued  int     // PENDING jobs per user
	SubmitRate float64 // submissions per second per user (bursts of the same size)
	// Anonymous lets anyone submit without a token and reach the job
	// through the capability returned (see anonymous.go). Off by default.
	Anonymous bool
	// LegacyWorkerServices lists the services old Bumps workers are handed
	// at POST /jobs/nextjob.json (nil: every service). A name Services does
	// not know is a service only old workers run (the original's "count"
	// or "fitter"): jobs of it are accepted, and only old workers get them.
	LegacyWorkerServices []string
	// Disk, if set, watches the data disk: while it is full, submissions
	// are refused with 507.
	Disk *diskspace.Guard
	// UserDiskMB is each user's disk quota in MB (0: none): a submission
	// while a user's jobs hold that much is refused (see usage.go).
	UserDiskMB int64
	// Collectors are more metrics for /metrics (the retention cleaner's).
	Collectors []prometheus.Collector
	// EmailEnabled says an SMTP server is configured: without one a job
	// asking for email is refused at submit. AllowHTTPWebhooks admits
	// http:// webhook URLs (https only otherwise).
	EmailEnabled      bool
	AllowHTTPWebhooks bool
	Logger            *slog.Logger
}

// Server serves the HTTP API.
type Server struct {
	cfg         Config
	log         *slog.Logger
	mux         *routeMux
	limiter     submitLimiter
	anonLimiter submitLimiter // per client address, for anonymous submissions
	metrics     *metrics
	tokens      *auth.Cache // verified tokens, so most requests read no store
	workers     workers
	oldOnly     map[string]bool // services only old workers run
}

// New checks cfg and builds the routes.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("server: Config.Store is required")
	case cfg.Queue == nil:
		return nil, errors.New("server: Config.Queue is required")
	case cfg.Root == nil:
		return nil, errors.New("server: Config.Root is required")
	case len(cfg.Services) == 0:
		return nil, errors.New("server: Config.Services is empty")
	}
	cfg.Caps = cmp.Or(cfg.Caps, job.DefaultCaps)
	cfg.MaxCPUs = cmp.Or(cfg.MaxCPUs, MaxCPUsPerJobDefult)
	cfg.MaxJSON = cmp.Or(cfg.MaxJSON, MaxJSONDefault)
	cfg.MaxUpload = cmp.Or(cfg.MaxUpload, MaxUploadDefault)
	cfg.MaxQueued = cmp.Or(cfg.MaxQueued, MaxQueuedDefault)
	cfg.SubmitRate = cmp.Or(cfg.SubmitRate, SubmitRateDefault)
	s := &Server{
		cfg:         cfg,
		log:         cmp.Or(cfg.Logger, slog.Default()).With("component", "server"),
		mux:         newRouteMux(),
		limiter:     newSubmitLimiter(cfg.Store, cfg.SubmitRate, "user"),
		anonLimiter: newSubmitLimiter(cfg.Store, cfg.SubmitRate, "addr"),
		tokens:      &auth.Cache{Store: cfg.Store},
	}
	s.oldOnly = map[string]bool{}
	for _, name := range cfg.LegacyWorkerServices {
		if name == "" || strings.ContainsAny(name, ", ") {
			return nil, fmt.Errorf("legacy-worker-services: %q is not a service name", name)
		}
		if _, err := cfg.Services.Lookup(name); err != nil {
			s.oldOnly[name] = true
		}
	}
	s.metrics = newMetrics(cfg.Store, cfg.Collectors...)
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.metrics.request(r.Method, rec.code)
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.Handle("GET /metrics", s.metrics.handler())

	user, wk := s.forUsers, s.forWorkers
	m.Handle("GET /api/v1/whoami", user(s.whoami))
	m.Handle("POST /api/v1/jobs", user(s.submit))
	m.Handle("GET /api/v1/jobs", user(s.listJobs))
	m.Handle("GET /api/v1/jobs/{id}", user(s.getJob))
	m.Handle("GET /api/v1/jobs/{id}/results", user(s.results))
	m.Handle("GET /api/v1/jobs/{id}/files", user(s.listFiles))
	m.Handle("GET /api/v1/jobs/{id}/files/{path...}", user(s.getFile))
	m.Handle("GET /api/v1/jobs/{id}/archive", user(s.archive))
	m.Handle("GET /api/v1/jobs/{id}/series", user(s.seriesTable))
	m.Handle("GET /api/v1/jobs/{id}/series.csv", user(s.seriesCSV))
	m.Handle("GET /api/v1/jobs/{id}/series.svg", user(s.seriesPlot))
	m.Handle("GET /api/v1/jobs/{id}/events", user(s.events))
	m.Handle("POST /api/v1/jobs/{id}/cancel", user(s.cancel))
	m.Handle("DELETE /api/v1/jobs/{id}", user(s.deleteJob))
	s.longFitRoutes()
	s.notifyRoutes()
	m.Handle("GET /api/v1/workers", s.authenticate(s.listWorkers, store.RoleAdmin))
	m.Handle("POST /api/v1/worker/claim", wk(s.workerClaim))
	m.Handle("GET /api/v1/worker/jobs/{id}/input", wk(s.workerInput))
	m.Handle("POST /api/v1/worker/jobs/{id}/heartbeat", wk(s.workerHeartbeat))
	m.Handle("POST /api/v1/worker/jobs/{id}/complete", wk(s.workerComplete))
	m.Handle("POST /api/v1/worker/jobs/{id}/release", wk(s.workerRelease))
	m.Handle("POST /api/v1/worker/reconcile", wk(s.workerReconcile))
	m.Handle("POST /api/v1/worker/heartbeats", wk(s.workerHeartbeats))
	m.Handle("POST /api/v1/worker/completions", wk(s.workerCompletions))
	s.workerCheckpointRoutes()
	s.adminRoutes()
	s.usageRoutes()
	s.groupRoutes()
	m.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	s.legacyRoutes()
	if s.cfg.Anonymous {
		s.anonymousRoutes()
	}
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route %s %s", r.Method, r.URL.Path)
	})
}

// handlerFunc is a route handler that knows its caller.
type handlerFunc = func(http.ResponseWriter, *http.Request, *store.User)

// forUsers admits user and admin tokens.
func (s *Server) forUsers(h handlerFunc) http.Handler {
	return s.authenticate(h, store.RoleUser, store.RoleAdmin)
}

// forWorkers admits worker tokens only.
func (s *Server) forWorkers(h handlerFunc) http.Handler { return s.authenticate(h, store.RoleWorker) }

// healthz is a liveness probe: it answers while the server serves, and
// touches no store (a probe should not add load, nor fail a server whose
// database is merely slow); /metrics tells about the store.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, u *store.User) {
	writeJSON(w, http.StatusOK, u)
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeError sends {"error": message}.
func writeError(w http.ResponseWriter, code int, format string, a ...any) {
	if code == http.StatusInternalServerError && storeUnavailable(a) {
		// The database is away (a PostgreSQL restart): not this server's
		// fault, and worth retrying.
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, a...)})
}

// storeFailed is the error a request reports when the store failed
// it: 503 if the store is away, else 500.
func storeFailed(msg string, err error) *httpError {
	if errors.Is(err, store.ErrUnavailable) {
		return &httpError{http.StatusServiceUnavailable, msg}
	}
	return &httpError{http.StatusInternalServerError, msg}
}

// storeUnavailable reports whether any of an error message's arguments
// is store.ErrUnavailable.
func storeUnavailable(args []any) bool {
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, store.ErrUnavailable) {
			return true
		}
	}
	return false
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets event streams through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
