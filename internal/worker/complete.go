package worker

import (
	"context"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// maxEnds caps how many ends one completion reports.
const maxEnds = 64

// finishTimeout bounds one completion call.
const finishTimeout = 30 * time.Second

// ending is one slot's finished run, waiting to be reported.
type ending struct {
	end      lease.End
	cpus     int  // the CPUs the slot holds
	wantNext bool // the slot would run a next job on them
	reply    chan endReply
}

type endReply struct {
	next *job.Job
	err  error
}

// finish reports j's end together with whatever other slots finish
// meanwhile, and returns the slot's next job, if the same call leased
// one that fits its CPUs.
func (p *Pool) finish(ctx context.Context, j *job.Job, res lease.Result) (*job.Job, error) {
	e := &ending{end: lease.End{Job: j, Result: res}, cpus: j.CPUs, wantNext: !p.draining.Load(), reply: make(chan endReply, 1)}
	select {
	case p.ends <- e:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := <-e.reply
	return r.next, r.err
}

// completer reports ends in batches until ctx ends (then waits for the
// calls under way): every end waiting when a call may start goes in it,
// and the call also leases the slots' next jobs. As many calls may be
// under way as there are slots, so no slot waits for a call it is not
// in; under load the ends that come while calls are under way gather
// in the next one. (Four calls at most left a busy HTTP worker's slots
// waiting for one another: submit→start rose from milliseconds to half
// a second.)
func (p *Pool) completer(ctx context.Context) {
	flights := make(chan struct{}, p.cfg.Slots)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case flights <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var batch []*ending
		select {
		case e := <-p.ends:
			batch = append(batch, e)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < maxEnds {
			select {
			case e := <-p.ends:
				batch = append(batch, e)
			default:
				break fill
			}
		}
		wg.Add(1)
		go func() {
			defer func() { <-flights; wg.Done() }()
			if guard.Call(p.log, "report ends", func() error { p.report(batch); return nil }) != nil {
				for _, e := range batch { // those not answered yet retry
					select {
					case e.reply <- endReply{err: guard.ErrInternal}:
					default:
					}
				}
			}
		}()
	}
}

// report sends one batch of ends and hands out the next jobs: each slot
// takes the first that fits its CPUs; one that fits no single slot (wider
// than any) starts on CPUs the slots give back.
func (p *Pool) report(batch []*ending) {
	ends := make([]lease.End, len(batch))
	var want lease.Want
	for i, e := range batch {
		ends[i] = e.end
		if e.wantNext && !p.draining.Load() {
			want.CPUs += e.cpus
			want.Jobs++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	errs, claimed, err := p.cfg.Source.Finish(ctx, ends, want)
	cancel()
	if err == nil && len(errs) != len(batch) {
		err = errShortAnswer
	}
	if err != nil {
		for _, e := range batch {
			e.reply <- endReply{err: err}
		}
		p.handBack(claimed)
		return
	}
	replies := make([]endReply, len(batch))
	spare := 0 // CPUs slots give back, for jobs no single slot takes
	for i, e := range batch {
		replies[i].err = errs[i]
		if errs[i] != nil {
			continue
		}
		if e.wantNext {
			for k, c := range claimed {
				if c != nil && c.CPUs <= e.cpus {
					replies[i].next, claimed[k] = c, nil
					break
				}
			}
		}
		if replies[i].next == nil {
			spare += e.cpus
		}
	}
	// Started before the slots give their CPUs back, so that the claim
	// loop never sees room these jobs take.
	var extra []*job.Job
	for _, c := range claimed {
		switch {
		case c == nil:
		case c.CPUs <= spare:
			spare -= c.CPUs
			p.start(c)
		default:
			extra = append(extra, c)
		}
	}
	p.handBack(extra)
	for i, e := range batch {
		e.reply <- replies[i]
	}
}

// handBack releases jobs leased for slots that cannot take them.
func (p *Pool) handBack(js []*job.Job) {
	for _, j := range js {
		if j == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
		if err := p.cfg.Source.Release(ctx, j); err != nil {
			p.log.Info("hand back a job no slot could take", "job", j.ID, "err", err)
		}
		cancel()
	}
}
