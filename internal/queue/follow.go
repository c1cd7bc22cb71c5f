package queue

import (
	"context"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Follow keeps this queue in step with the other controllers that share
// its store, until ctx ends: their cancels and deletes reach the local
// runners at once, their submissions and releases wake idle claimers
// (local slots, long-polling workers), their leases re-plan the reaper,
// and every change reaches the event subscribers here who watch that job.
func (q *Queue) Follow(ctx context.Context, feed store.ChangeFeed) error {
	return feed.FollowChanges(ctx, func(c store.Change) { q.apply(ctx, c) }, func() {
		// Changes made before the feed listened were not heard: have
		// claimers and the reaper look again, from a fresh drain list,
		// and tell whoever watches a job here where it stands now (a
		// job submitted here may have run and ended elsewhere since).
		q.forgetDrains()
		q.signal(&q.work)
		q.signal(&q.leases)
		q.republish(ctx)
	})
}

// republish publishes the stored state of every job watched here by id.
// (Watchers of a whole list hear of the next change; which jobs changed
// unheard, nothing here knows.)
func (q *Queue) republish(ctx context.Context) {
	for _, id := range q.Events.watched() {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		j, err := q.store.GetJob(rctx, id)
		cancel()
		if err == nil {
			q.Events.Publish(j)
		}
	}
}

// apply reacts to one change another controller made.
func (q *Queue) apply(ctx context.Context, c store.Change) {
	if c.Local {
		return // this queue has told its own watchers already
	}
	if c.Drains {
		// Another controller drained or resumed an executor: the next
		// claim reads the list again; a resumed one's waiting claims
		// look now.
		q.forgetDrains()
		q.signal(&q.work)
		return
	}
	if c.Deleted || c.CancelRequested {
		q.fireCancel(c.ID)
	}
	switch c.State {
	case job.Pending:
		q.signal(&q.work)
	case job.Active:
		q.signal(&q.leases)
	}
	if c.State.Terminal() && !c.Deleted {
		q.Events.noteEnded()
	}
	if c.Deleted || !q.Events.wants(c.ID, c.Owner) {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if j, err := q.store.GetJob(rctx, c.ID); err == nil {
		q.Events.Publish(j)
	}
}

// wants reports whether any subscriber watches job id of owner, so that
// a change nobody here watches costs no read.
func (b *Broker) wants(id int64, owner string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.id == id || (s.id == 0 && (s.owner == "" || s.owner == owner)) {
			return true
		}
	}
	return false
}
