package queue

import (
	"context"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Keep pins job id against the retention cleaner (keep) or unpins it;
// watchers see the change at once.
func (q *Queue) Keep(ctx context.Context, id int64, keep bool) (*job.Job, error) {
	j, err := q.store.SetKeep(ctx, id, keep)
	if err != nil {
		return nil, err
	}
	q.Events.Publish(j)
	return j, nil
}
