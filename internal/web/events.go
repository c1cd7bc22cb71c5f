package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/server"
)

// listKeepAlive is how often an idle list stream sends a comment, so a
// dead connection is noticed and the browser's EventSource reconnects.
const listKeepAlive = 15 * time.Second

// jobEvents is a job page's live feed: the API's event stream for the
// job, behind the session cookie.
func (h *Handler) jobEvents(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	h.cfg.API.StreamJob(w, r, j.ID)
}

// listEvents is the job list's live feed: an event "job" for every change
// to a job the user may see (an admin: every job), without its spec. The
// list of jobs shared with the user (?shared=1) follows the rows it shows
// instead (?ids=), others' jobs the user's own feed does not carry; it
// starts with their state now, so a change between the page and the feed
// is not lost.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, s *session) {
	owner := s.User.Name
	if server.IsAdmin(s.User) {
		owner = ""
	}
	shared := r.URL.Query().Get("shared") == "1"
	var ids []int64
	if shared {
		var err error
		if ids, err = sharedIDs(r.URL.Query().Get("ids")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		owner = ""
	}
	// Subscribe before reading the rows' state, so nothing falls between.
	sub := h.cfg.Queue.Events.Subscribe(0, owner)
	defer sub.Close()
	es := server.OpenEventStream(w)
	// A comment first, so the browser knows the stream is open.
	if !es.Comment("watching") {
		return
	}
	send := func(j *job.Job) bool {
		c := *j
		c.Spec = nil // listings stay small
		return es.Send("job", &c)
	}
	keep := func(*job.Job) bool { return true }
	if shared {
		// Each row is checked now, as the page was: the feed carries no
		// job the user could not open.
		follow := make(map[int64]bool, len(ids))
		for _, id := range ids {
			j, err := h.cfg.API.Job(r.Context(), s.User, id)
			if err != nil {
				continue
			}
			follow[id] = true
			if !send(j) {
				return
			}
		}
		keep = func(j *job.Job) bool { return follow[j.ID] }
	}
	tick := time.NewTicker(listKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !es.Comment("keep-alive") {
				return
			}
		case <-sub.Ready():
			for _, j := range sub.Take() {
				if keep(j) && !send(j) {
					return
				}
			}
		}
	}
}

// maxSharedRows bounds the ids one shared list's feed follows (a page
// holds pageSize).
const maxSharedRows = 200

// sharedFeedQuery is the query of the shared list's feed for the jobs js
// on the page.
func sharedFeedQuery(js []*job.Job) string {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = strconv.FormatInt(j.ID, 10)
	}
	return url.Values{"shared": {"1"}, "ids": {strings.Join(ids, ",")}}.Encode()
}

// sharedIDs reads the ids a shared list's feed follows.
func sharedIDs(v string) ([]int64, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxSharedRows {
		return nil, fmt.Errorf("ids: %d job ids; at most %d are followed", len(parts), maxSharedRows)
	}
	ids := make([]int64, len(parts))
	for i, p := range parts {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id < 1 {
			return nil, fmt.Errorf("ids: %q is not a job id (accepted: job ids separated by commas)", p)
		}
		ids[i] = id
	}
	return ids, nil
}
