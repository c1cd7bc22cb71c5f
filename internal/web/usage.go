package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/server"
)

// usagePeriod is the period the jobs page and the admin page report CPU
// time over (`bumpserve usage --since` chooses any other).
const usagePeriod = 30 * 24 * time.Hour

// usageView is the accounting a page shows: CPU time over the last
// usagePeriod and disk held now.
type usageView struct {
	Since time.Time
	Quota int64 // bytes; 0: none
	Users []api.UserUsage
	// Groups is each group's sums, on the admin page only.
	Groups []api.GroupUsage
	Error  string
}

// usageFor reads the accounting of user who ("" = everyone, for an
// admin), and every group's with groups; a failure is shown on the page
// rather than failing it.
func (h *Handler) usageFor(r *http.Request, s *session, who string, groups bool) *usageView {
	since := time.Now().Add(-usagePeriod).UTC().Truncate(time.Hour)
	v := &usageView{Since: since}
	u, err := h.cfg.API.Usage(r.Context(), s.User, server.UsageQuery{User: who, Since: since, Groups: groups})
	if err != nil {
		h.log.Warn("usage", "user", who, "err", err)
		v.Error = err.Error()
		return v
	}
	v.Quota, v.Users, v.Groups = u.DiskQuotaBytes, u.Users, u.Groups
	return v
}

// keep pins the job against retention (keep=on) or unpins it (off) and
// goes back to its page.
func (h *Handler) keep(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobToChange(w, r, s)
	if j == nil {
		return
	}
	var keep bool
	switch v := r.PostFormValue("keep"); v {
	case "on":
		keep = true
	case "off":
	default:
		h.errorPage(w, r, s, http.StatusBadRequest, fmt.Sprintf("keep: %q is not on or off", v))
		return
	}
	if _, err := h.cfg.API.Keep(r.Context(), s.User, j.ID, keep); err != nil {
		h.refused(w, r, s, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/jobs/%d", j.ID), http.StatusSeeOther)
}
