package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/bumpserve/bumpserve/api"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// Notifications (package notify sends them): a job's notify field, the
// owner's delivery log, and each user's default and webhook secret.

func (s *Server) notifyRoutes() {
	m, user := s.mux, s.forUsers
	m.Handle("GET /api/v1/jobs/{id}/notifications", user(s.jobNotifications))
	m.Handle("GET /api/v1/me/notify", user(s.getNotifyDefault))
	m.Handle("PUT /api/v1/me/notify", user(s.putNotifyDefault))
	m.Handle("POST /api/v1/me/webhook-secret", user(s.webhookSecret))
}

// checkNotify checks a notify document against what this server sends.
func (s *Server) checkNotify(field string, n job.Notify) error {
	if err := n.Check(field, s.cfg.AllowHTTPWebhooks); err != nil {
		return badRequest("%v", err)
	}
	if n.Email != "" && !s.cfg.EmailEnabled {
		return badRequest("%s.email: this server sends no email (its operator has not set serve --smtp); use %s.webhook", field, field)
	}
	return nil
}

// defaultNotify gives the submissions that name no notify their owner's
// default (one read per request, only when some submission needs it).
func (s *Server) defaultNotify(ctx context.Context, u *store.User, subs []*Submission, qs []queue.Submission) error {
	var def *job.Notify
	for i, sub := range subs {
		if sub.Notify != nil {
			continue
		}
		if def == nil {
			ns, err := s.cfg.Store.NotifySettings(ctx, u.Name)
			switch {
			case errors.Is(err, store.ErrNotFound): // no account (anonymous): no default
				ns = &store.NotifySettings{}
			case err != nil:
				return storeFailed(err.Error(), err)
			}
			def = &ns.Default
			if def.Email != "" && !s.cfg.EmailEnabled {
				def.Email = "" // set while the server had email; no longer sendable
			}
		}
		qs[i].Notify = def.Targets()
	}
	return nil
}

// jobNotifications shows a job's notifications and their delivery log to
// its owner only: the log holds the owner's addresses.
func (s *Server) jobNotifications(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	if j.Owner != u.Name {
		writeError(w, http.StatusNotFound, "no job %q", r.PathValue("id"))
		return
	}
	jn, err := s.cfg.Store.JobNotifications(r.Context(), j.ID)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "notifications: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, jn)
}

// JobNotifications returns the notifications of job id if u owns it
// (ErrNotFound otherwise), for the API and the job page.
func (s *Server) JobNotifications(ctx context.Context, u *User, id int64) (*store.JobNotifications, error) {
	j, err := s.cfg.Store.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Owner != u.Name {
		return nil, ErrNotFound
	}
	return s.cfg.Store.JobNotifications(ctx, id)
}

func (s *Server) getNotifyDefault(w http.ResponseWriter, r *http.Request, u *store.User) {
	ns, err := s.cfg.Store.NotifySettings(r.Context(), u.Name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "notify settings: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

func (s *Server) putNotifyDefault(w http.ResponseWriter, r *http.Request, u *store.User) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<16))
	if err != nil {
		s.replyError(w, err)
		return
	}
	var n job.Notify
	if err := strictjson.Decode(body, "notify", &n); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err := s.checkNotify("notify", n); err != nil {
		s.replyError(w, err)
		return
	}
	if err := s.cfg.Store.SetNotifyDefault(r.Context(), u.Name, n); err != nil {
		writeError(w, http.StatusInternalServerError, "set default notification: %v", err)
		return
	}
	s.getNotifyDefault(w, r, u)
}

// WebhookSecret is the answer of POST /api/v1/me/webhook-secret.
type WebhookSecret = api.WebhookSecret

// webhookSecret shows the caller's webhook secret, creating it on first
// use; ?rotate=true replaces it (receivers must learn the new one).
func (s *Server) webhookSecret(w http.ResponseWriter, r *http.Request, u *store.User) {
	rotate := false
	if v := r.URL.Query().Get("rotate"); v != "" {
		var err error
		if rotate, err = strconv.ParseBool(v); err != nil {
			writeError(w, http.StatusBadRequest, "rotate: %q is not accepted (accepted: true, false)", v)
			return
		}
	}
	secret, err := s.cfg.Store.WebhookSecret(r.Context(), &store.WebhookSecretParams{User: u.Name, Fresh: notify.NewSecret(), Rotate: rotate})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "webhook secret: %v", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, WebhookSecret{Secret: secret, Header: notify.SignatureHeader})
}
