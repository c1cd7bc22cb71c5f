package server

import (
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Anonymous mode (Config.Anonymous, off by default): anyone may submit a
// job without a token, and reaches it afterwards only through the
// unguessable capability the submission returns. Anonymous jobs belong to
// the owner "anonymous", so the per-user queue quota bounds all of them
// together; submissions are rate-limited per client address. Job ids are
// no use without a token, and no listing shows anonymous jobs except to
// admins.

// AnonymousOwner owns every anonymous job.
const AnonymousOwner = "anonymous"

// anonymousJob is the answer to an anonymous submission.
type anonymousJob struct {
	*job.Job
	Capability string `json:"capability"`
	URL        string `json:"url"`
}

func (s *Server) anonymousRoutes() {
	m := s.mux
	m.HandleFunc("POST /api/v1/anonymous/jobs", s.anonymousSubmit)
	m.Handle("GET /api/v1/anonymous/jobs/{cap}", s.byCapability(s.getJob))
	m.Handle("GET /api/v1/anonymous/jobs/{cap}/results", s.byCapability(s.results))
	m.Handle("GET /api/v1/anonymous/jobs/{cap}/files", s.byCapability(s.listFiles))
	m.Handle("GET /api/v1/anonymous/jobs/{cap}/files/{path...}", s.byCapability(s.getFile))
	m.Handle("GET /api/v1/anonymous/jobs/{cap}/archive", s.byCapability(s.archive))
	m.Handle("GET /api/v1/anonymous/jobs/{cap}/events", s.byCapability(s.events))
	m.Handle("POST /api/v1/anonymous/jobs/{cap}/cancel", s.byCapability(s.cancel))
	m.Handle("DELETE /api/v1/anonymous/jobs/{cap}", s.byCapability(s.deleteJob))
}

func (s *Server) anonymousSubmit(w http.ResponseWriter, r *http.Request) {
	if err := s.withinRate(r.Context(), s.anonLimiter, clientAddr(r)); err != nil {
		if err.code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		s.replyError(w, err)
		return
	}
	capability, hash := auth.NewCapability()
	j, err := s.receive(r, &store.User{Name: AnonymousOwner, Role: store.RoleUser}, func(sub *Submission) {
		sub.capability = hash
	})
	if err != nil {
		s.replyError(w, err)
		return
	}
	url := "/api/v1/anonymous/jobs/" + capability
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusCreated, anonymousJob{Job: j, Capability: capability, URL: url})
}

// byCapability serves a job route for whoever holds the job's capability,
// as if they were its owner; any other capability is 404.
func (s *Server) byCapability(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j, err := s.cfg.Store.GetJobByCapability(r.Context(), auth.Hash(r.PathValue("cap")))
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such job")
			return
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		r.SetPathValue("id", strconv.FormatInt(j.ID, 10))
		h(w, r, &store.User{Name: j.Owner, Role: store.RoleUser})
	})
}

// clientAddr is the client's IP address, for per-address limits.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
