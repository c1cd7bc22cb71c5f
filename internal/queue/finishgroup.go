package queue

import (
	"context"
	"slices"
	"sync"

	"github.com/bumpserve/bumpserve/internal/store"
)

// finishGroup sends the ends reported by every executor (local slots,
// HTTP workers, Slurm) to the store in as few FinishJobs calls as it
// can: at most maxFinishFlights calls are under way at a time, and the
// ends that arrive meanwhile wait and go together in the next. Under
// load one write of the store's writer then records the ends of many
// callers, where one write each cost a savepoint, a goroutine and a
// wake-up apiece; when idle an end goes at once, alone.
type finishGroup struct {
	mu      sync.Mutex
	waiting []*finishCall
	flights int // batches under way; whoever ends one sends the next
}

// maxFinishFlights is how many FinishJobs calls may be under way: two,
// so that while the writer commits one batch the next already waits in
// its queue. (With one, an end arriving during a commit waited for that
// commit and then for its own: a remote worker's submit→start doubled.)
const maxFinishFlights = 2

// finishCall is one caller's ends and, once done is closed, their answer.
type finishCall struct {
	ctx  context.Context
	ps   []*store.FinishParams
	rs   []store.FinishResult
	err  error
	done chan struct{}
}

// maxFinishBatch caps one FinishJobs call of the group: one transaction
// of the writer should stay short.
const maxFinishBatch = 512

// finish records ps through st, in a batch with other callers' ends.
// Like a store write, once queued it runs even if ctx ends, and finish
// waits for it.
func (g *finishGroup) finish(ctx context.Context, st store.JobStore, ps []*store.FinishParams) ([]store.FinishResult, error) {
	c := &finishCall{ctx: ctx, ps: ps, done: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, c)
	lead := g.flights < maxFinishFlights
	if lead {
		g.flights++
	}
	g.mu.Unlock()
	if lead {
		g.send(st)
	}
	<-c.done
	return c.rs, c.err
}

// send runs one batch of the calls waiting, then hands the next batch to
// a goroutine of its own, so that the caller who sent this one returns
// as soon as its own ends are recorded.
func (g *finishGroup) send(st store.JobStore) {
	g.mu.Lock()
	var batch []*finishCall
	n := 0
	for len(g.waiting) > 0 && (len(batch) == 0 || n+len(g.waiting[0].ps) <= maxFinishBatch) {
		batch = append(batch, g.waiting[0])
		n += len(g.waiting[0].ps)
		g.waiting = g.waiting[1:]
	}
	if len(batch) == 0 { // the other flight took them all
		g.flights--
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()

	sendFinishes(st, batch, n)

	g.mu.Lock()
	more := len(g.waiting) > 0
	if !more {
		g.flights--
	}
	g.mu.Unlock()
	if more {
		go g.send(st)
	}
}

// sendFinishes sends the batch's ends in one FinishJobs call and answers each
// call. The ends go in the order of their ids, so that two batches
// (another controller's on a shared PostgreSQL) lock the rows they share
// in the same order.
func sendFinishes(st store.JobStore, batch []*finishCall, n int) {
	type ref struct{ call, item int }
	refs := make([]ref, 0, n)
	for i, c := range batch {
		c.rs = make([]store.FinishResult, len(c.ps))
		for k := range c.ps {
			refs = append(refs, ref{i, k})
		}
	}
	slices.SortFunc(refs, func(a, b ref) int {
		return int(batch[a.call].ps[a.item].ID - batch[b.call].ps[b.item].ID)
	})
	ps := make([]*store.FinishParams, len(refs))
	for k, r := range refs {
		ps[k] = batch[r.call].ps[r.item]
	}
	// No one caller's deadline may cut short the others' ends.
	ctx := context.WithoutCancel(batch[0].ctx)
	rs, err := st.FinishJobs(ctx, ps)
	for k, r := range refs {
		if err == nil {
			batch[r.call].rs[r.item] = rs[k]
		}
	}
	for _, c := range batch {
		c.err = err
		close(c.done)
	}
}
