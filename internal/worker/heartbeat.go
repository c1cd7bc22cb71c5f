package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// progressEvery bounds how often progress is shown to watchers; fitters
// may report thousands of steps a second.
const progressEvery = 100 * time.Millisecond

// heartbeats renews the leases of all of a pool's running jobs in one
// call per beat, carrying each job's latest progress, and stops a run
// when its job is cancelled or its lease lost.
type heartbeats struct {
	src  lease.Source
	mu   sync.Mutex
	runs map[int64]*heartbeat
}

// heartbeat is one running job's share of the beats.
type heartbeat struct {
	src  lease.Source
	job  *job.Job
	stop context.CancelCauseFunc
	// early closes when a heartbeat's answer asks the job to stop early
	// (a remote worker's only way to hear of it).
	early     chan struct{}
	earlyOnce sync.Once

	mu        sync.Mutex
	latest    *job.Progress
	sent      *job.Progress // last persisted
	renewed   time.Time     // when the lease was last renewed
	published time.Time
}

// add starts renewing j's lease; the run's context is stopped through
// stop when j is cancelled or its lease lost. The returned func ends it.
func (hs *heartbeats) add(j *job.Job, stop context.CancelCauseFunc) (*heartbeat, func()) {
	h := &heartbeat{src: hs.src, job: j, stop: stop, early: make(chan struct{}), renewed: time.Now()}
	hs.mu.Lock()
	if hs.runs == nil {
		hs.runs = map[int64]*heartbeat{}
	}
	hs.runs[j.ID] = h
	hs.mu.Unlock()
	return h, func() {
		hs.mu.Lock()
		if hs.runs[j.ID] == h {
			delete(hs.runs, j.ID)
		}
		hs.mu.Unlock()
	}
}

// report records progress; watchers see it at most every progressEvery.
func (h *heartbeat) report(pr job.Progress) {
	pr.Updated = time.Now().UTC()
	h.mu.Lock()
	h.latest = &pr
	show := time.Since(h.published) >= progressEvery
	if show {
		h.published = time.Now()
	}
	h.mu.Unlock()
	if show {
		h.src.Progress(h.job, &pr)
	}
}

// loop beats until ctx ends.
func (hs *heartbeats) loop(ctx context.Context) {
	for {
		every := hs.src.HeartbeatEvery()
		// Progress is persisted at least once a second so that job pages
		// and `show` are never far behind the events stream.
		timer := time.NewTimer(min(every, time.Second))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		hs.beat(ctx, every)
	}
}

// beat renews the leases due (last renewed an interval ago) and sends
// the progress that changed, in one call.
func (hs *heartbeats) beat(ctx context.Context, every time.Duration) {
	var due []*heartbeat
	var beats []lease.Beat
	hs.mu.Lock()
	for _, h := range hs.runs {
		h.mu.Lock()
		changed := h.latest != nil && h.latest != h.sent
		if changed || time.Since(h.renewed) >= every {
			b := lease.Beat{Job: h.job}
			if changed {
				b.Progress = h.latest
			}
			due, beats = append(due, h), append(beats, b)
		}
		h.mu.Unlock()
	}
	hs.mu.Unlock()
	if len(beats) == 0 {
		return
	}
	sent := time.Now()
	bctx, cancel := context.WithTimeout(ctx, every)
	verdicts, err := hs.src.Heartbeat(bctx, beats)
	cancel()
	if err != nil || len(verdicts) != len(beats) {
		return // transient: try again next tick, within the lease
	}
	for i, v := range verdicts {
		h := due[i]
		switch {
		case errors.Is(v.Err, job.ErrLeaseLost):
			h.stop(errLeaseLost)
		case v.Err != nil:
			// transient for this job alone: try again next tick
		case v.Cancel:
			h.stop(errCancelled)
		default:
			if v.Stop {
				h.earlyOnce.Do(func() { close(h.early) })
			}
			h.mu.Lock()
			h.renewed = sent
			if beats[i].Progress != nil {
				h.sent = beats[i].Progress
			}
			h.mu.Unlock()
		}
	}
}
