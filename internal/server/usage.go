package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Pins and accounting: POST /api/v1/jobs/{id}/keep pins a job against
// the retention cleaner (package retention); GET /api/v1/usage reports
// CPU time and disk per user and group (usage_report.go); a submission
// past the disk quota is refused (checkDiskQuota).

// ErrOthersUsage: only admins see other users' usage.
var ErrOthersUsage = errors.New("user: only admins may see other users' usage")

func (s *Server) usageRoutes() {
	s.mux.Handle("POST /api/v1/jobs/{id}/keep", s.forUsers(s.keep))
	s.mux.Handle("GET /api/v1/usage", s.forUsers(s.usage))
}

func (s *Server) keep(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobToChange(w, r, u)
	if j == nil {
		return
	}
	var req api.KeepChange
	if err := decodeBody(r, &req, 4<<10); err != nil {
		s.replyError(w, err)
		return
	}
	if req.Keep == nil {
		writeError(w, http.StatusBadRequest, "keep: missing (true pins the job against retention, false unpins it)")
		return
	}
	j, err := s.Keep(r.Context(), u, j.ID, *req.Keep)
	s.answerJob(w, r, j, err)
}

// Keep pins job id (keep) against the retention cleaner, or unpins it,
// if u may change it (see JobToChange).
func (s *Server) Keep(ctx context.Context, u *User, id int64, keep bool) (*job.Job, error) {
	if _, err := s.JobToChange(ctx, u, id); err != nil {
		return nil, err
	}
	return s.cfg.Queue.Keep(ctx, id, keep)
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request, u *store.User) {
	q := r.URL.Query()
	since, err := ParseSince(q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	out, err := s.Usage(r.Context(), u, UsageQuery{User: q.Get("user"), Group: q.Get("group"), Since: since, Groups: true})
	switch {
	case errors.Is(err, ErrOthersUsage), errors.Is(err, ErrOthersGroupUsage):
		writeError(w, http.StatusForbidden, "%v", err)
	case errors.As(err, new(*httpError)):
		s.replyError(w, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "usage: %v", err)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// ParseSince reads the start of an accounting period: a date
// (2026-01-31, midnight UTC) or an RFC 3339 time; "" is the beginning.
func ParseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("since: %q is not a date (accepted: YYYY-MM-DD or an RFC 3339 time such as 2026-01-31T12:00:00Z)", s)
}

func (s *Server) diskQuota() int64 { return s.cfg.UserDiskMB << 20 }

// checkDiskQuota refuses a submission of owner's that would add adding
// bytes of uploads when what owner's jobs hold already reaches the
// quota, or would pass it with them. It is a soft quota: a job admitted
// may still write past it, and the next submission is refused.
func (s *Server) checkDiskQuota(ctx context.Context, owner string, adding int64) error {
	quota := s.diskQuota()
	if quota <= 0 {
		return nil
	}
	rows, err := s.cfg.Store.Usage(ctx, &store.UsageParams{Owner: owner, Since: time.Now()})
	if err != nil {
		return storeFailed(err.Error(), err)
	}
	var held int64
	if len(rows) > 0 {
		held = rows[0].DiskBytes
	}
	if held < quota && held+adding <= quota {
		return nil
	}
	msg := fmt.Sprintf("disk quota: your jobs hold %s of your %s (serve --user-disk-mb %d)", MB(held), MB(quota), s.cfg.UserDiskMB)
	if adding > 0 {
		msg += fmt.Sprintf(", and this submission's files add %s", MB(adding))
	}
	return &httpError{http.StatusRequestEntityTooLarge, msg + "; delete finished jobs to make room"}
}

// MB writes a size in megabytes (MiB, as the flags count them) to a tenth.
func MB(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
