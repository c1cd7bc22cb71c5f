package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// SeriesSubmission is a fit series as the API has checked it: the
// parent (never claimed) and its children in series order.
type SeriesSubmission struct {
	Parent   Submission
	Series   *job.Series
	Children []Submission
}

// SubmitSeries stores a series parent and its children in one
// transaction, all or none, under ids reserved first: the parent's id,
// then the children's in series order. place(i, id) puts child i's files
// in place before, as SubmitAll's place does, and place(-1, id) the
// parent's. With Series.Chain, every
// child but the first is held until the one before it ends (see package
// series, which releases it).
func (q *Queue) SubmitSeries(ctx context.Context, s SeriesSubmission, place func(i int, id int64) error) (*job.Job, []*job.Job, error) {
	now := q.now()
	first, err := q.store.ReserveJobIDs(ctx, 1+len(s.Children))
	if err != nil {
		return nil, nil, err
	}
	record := *s.Series
	record.Children = nil // read from the children, never stored
	raw, err := json.Marshal(record)
	if err != nil {
		return nil, nil, err
	}
	if place != nil {
		if err := place(-1, first); err != nil {
			return nil, nil, err
		}
	}
	parent := q.createParams(s.Parent, now)
	parent.ID, parent.Series, parent.Held = first, raw, true
	ps := []*store.CreateJobParams{parent}
	for i, c := range s.Children {
		id := first + 1 + int64(i)
		if place != nil {
			if err := place(i, id); err != nil {
				return nil, nil, err
			}
		}
		child := q.createParams(c, now)
		child.ID, child.Parent, child.Held = id, first, s.Series.Chain && i > 0
		ps = append(ps, child)
	}
	js, err := q.store.CreateJobs(ctx, ps)
	if err != nil {
		return nil, nil, err
	}
	for _, j := range js {
		q.Events.Publish(j)
	}
	q.signal(&q.work)
	js[0].Series.Children = ids(js[1:])
	return js[0], js[1:], nil
}

func ids(js []*job.Job) []int64 {
	out := make([]int64, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

// maxChildren bounds the read of one parent's children (a series is
// submitted in one request, which bounds its files far lower).
const maxChildren = 100000

// Children lists a series parent's children in series order.
func (q *Queue) Children(ctx context.Context, parent int64) ([]*job.Job, error) {
	js, err := q.store.ListJobs(ctx, &store.ListJobsParams{Parent: parent, Limit: maxChildren})
	if err != nil {
		return nil, fmt.Errorf("children of job %d: %w", parent, err)
	}
	return js, nil
}

// LiveParents lists the series parents still waiting on children.
func (q *Queue) LiveParents(ctx context.Context) ([]*job.Job, error) {
	return q.store.ListJobs(ctx, &store.ListJobsParams{LiveParents: true, Limit: maxChildren})
}

// ReleaseHeld makes a held job claimable, with spec as its new spec if
// not nil, and wakes the executors. store.ErrFinished means it was not
// held (any more).
func (q *Queue) ReleaseHeld(ctx context.Context, id int64, spec json.RawMessage) (*job.Job, error) {
	j, err := q.store.ReleaseHeld(ctx, id, spec)
	if err != nil {
		return nil, err
	}
	q.Events.Publish(j)
	q.signal(&q.work)
	return j, nil
}

// EndHeld ends a held job (a series parent); store.ErrFinished means it
// had ended already.
func (q *Queue) EndHeld(ctx context.Context, id int64, state job.State, reason string, result json.RawMessage) (*job.Job, error) {
	j, err := q.store.EndHeld(ctx, &store.EndHeldParams{ID: id, State: state, Reason: reason, Result: result, Now: q.now()})
	if err != nil {
		return nil, err
	}
	q.Events.Publish(j)
	return j, nil
}

// CancelSeries cancels a series parent and then each of its live
// children; the parent goes first, so that nothing ends it COMPLETE in
// between. It returns the parent as cancelled.
func (q *Queue) CancelSeries(ctx context.Context, parent int64) (*job.Job, error) {
	p, err := q.Cancel(ctx, parent)
	if err != nil {
		return nil, err
	}
	kids, err := q.Children(ctx, parent)
	if err != nil {
		return p, err
	}
	for _, c := range kids {
		if c.State.Terminal() {
			continue
		}
		if _, err := q.Cancel(ctx, c.ID); err != nil && !errors.Is(err, store.ErrFinished) && !errors.Is(err, store.ErrNotFound) {
			return p, err
		}
	}
	return p, nil
}
