package series

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Coordinator moves series along: when a child ends it releases the next
// chained child (started from the best values so far) and, once all have
// ended, ends the parent. It reacts to the queue's job events, and looks
// at every live parent when it starts, so a parent whose last child ended
// while no coordinator listened (a crash, another controller) still ends.
// Every step is a conditional store write, so two coordinators (two
// controllers on one store) never do a step twice.
type Coordinator struct {
	Queue  *queue.Queue
	Logger *slog.Logger
}

// Run coordinates until ctx ends.
func (c *Coordinator) Run(ctx context.Context) {
	log := cmp.Or(c.Logger, slog.Default()).With("component", "series")
	sub := c.Queue.Events.Subscribe(0, "")
	defer sub.Close()
	parents, err := c.Queue.LiveParents(ctx)
	if err != nil {
		log.Error("list live series", "err", err)
	}
	for _, p := range parents {
		c.advance(ctx, log, p.ID)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
		}
		seen := map[int64]bool{}
		for _, j := range sub.Take() {
			if j.Parent != 0 && (j.State.Terminal() || j.Deleted) && !seen[j.Parent] {
				seen[j.Parent] = true
				c.advance(ctx, log, j.Parent)
			}
		}
	}
}

// Advance takes series parent's next steps now (for tests and callers
// that changed a child outside the queue's events).
func (c *Coordinator) Advance(ctx context.Context, parent int64) {
	c.advance(ctx, cmp.Or(c.Logger, slog.Default()), parent)
}

func (c *Coordinator) advance(ctx context.Context, log *slog.Logger, id int64) {
	p, err := c.Queue.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		log.Error("read series parent", "job", id, "err", err)
		return
	}
	if p.Series == nil || p.State.Terminal() {
		return
	}
	kids, err := c.Queue.Children(ctx, id)
	if err != nil {
		log.Error("read series children", "job", id, "err", err)
		return
	}
	if p.Series.Chain {
		c.releaseNext(ctx, log, kids)
	}
	ended, state, reason := Ended(p.Series, kids)
	if !ended {
		return
	}
	p.Series.Children = ChildIDs(p)
	t, err := Build(p, kids)
	var result json.RawMessage
	if err == nil {
		t.State = string(state)
		result, err = json.Marshal(t)
	}
	if err != nil {
		log.Error("series table", "job", id, "err", err)
	}
	if _, err := c.Queue.EndHeld(ctx, id, state, reason, result); err != nil && !errors.Is(err, store.ErrFinished) {
		log.Error("end series", "job", id, "err", err)
		return
	}
	log.Info("series ended", "job", id, "state", state, "reason", reason)
}

// releaseNext releases the first held child once every child before it
// has ended, starting it from the nearest earlier completed fit's best
// values (the shared start values if none completed).
func (c *Coordinator) releaseNext(ctx context.Context, log *slog.Logger, kids []*job.Job) {
	var prev *Result
	for _, k := range kids {
		if !k.Held || k.State != job.Pending {
			if !k.State.Terminal() {
				return // still running or waiting to run: the next waits
			}
			if k.State == job.Complete && len(k.Result) > 0 {
				if r, err := ParseResult(k.Result); err == nil {
					prev = r
				}
			}
			continue
		}
		var spec json.RawMessage
		if prev != nil {
			s, err := ChainSpec(k.Service, k.Spec, prev)
			if err != nil {
				log.Error("chain start values", "job", k.ID, "err", err)
			} else {
				spec = s
			}
		}
		if _, err := c.Queue.ReleaseHeld(ctx, k.ID, spec); err != nil && !errors.Is(err, store.ErrFinished) {
			log.Error("release chained fit", "job", k.ID, "err", err)
		}
		return
	}
}

// ChildIDs are a parent's children by series position: their ids follow
// the parent's (queue.SubmitSeries reserves them together), so a child
// deleted on its own keeps its row.
func ChildIDs(p *job.Job) []int64 {
	out := make([]int64, len(p.Series.Files))
	for i := range out {
		out[i] = p.ID + 1 + int64(i)
	}
	return out
}
