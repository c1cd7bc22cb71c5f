package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// keepAlive is how often an idle event stream sends a comment, so proxies
// and clients can tell a quiet job from a dead connection.
const keepAlive = 15 * time.Second

// events streams a job's changes as server-sent events: an event "job"
// carrying the whole job object now, then on every state or progress
// change, ending after a terminal state (or "deleted" if it goes away).
func (s *Server) events(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	s.StreamJob(w, r, j.ID)
}

// StreamJob writes the event stream of job id, which the caller has
// already checked the user may see: the API's route and the pages' share
// it, so both streams say the same things in the same order.
func (s *Server) StreamJob(w http.ResponseWriter, r *http.Request, id int64) {
	// Subscribe before reading the current state, so nothing falls between.
	sub := s.cfg.Queue.Events.Subscribe(id, "")
	defer sub.Close()
	cur, err := s.cfg.Store.GetJob(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no job %q", strconv.FormatInt(id, 10))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	es := OpenEventStream(w)
	if !es.Send("job", s.streamed(r.Context(), cur)) || cur.State.Terminal() {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			// A job deleted by another controller sharing the store
			// publishes nothing here; notice it at the keep-alive.
			if _, err := s.cfg.Store.GetJob(r.Context(), id); errors.Is(err, store.ErrNotFound) {
				es.Send("deleted", map[string]int64{"id": id})
				return
			}
			if !es.Comment("keep-alive") {
				return
			}
		case <-sub.Ready():
			for _, snap := range sub.Take() {
				if snap.Deleted {
					es.Send("deleted", map[string]int64{"id": id})
					return
				}
				if !es.Send("job", s.streamed(r.Context(), snap)) || snap.State.Terminal() {
					return
				}
			}
		}
	}
}

// streamed is job j as its stream shows it: a series parent as GET shows
// it, with its children and the state they give it. Snapshots are shared
// by every subscriber, so a parent is changed in a copy.
func (s *Server) streamed(ctx context.Context, j *job.Job) *job.Job {
	if j.Series == nil {
		return j
	}
	c, series := *j, *j.Series
	c.Series = &series
	if err := s.seriesView(ctx, &c); err != nil {
		s.log.Warn("series parent's state for its event stream", "job", j.ID, "err", err)
	}
	return &c
}
