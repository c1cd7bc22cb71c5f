// Package leasetest is the conformance suite every lease.Source must
// pass: the local slots' source and the HTTP worker's, over a real
// controller. A source's own test calls Exercise with a constructor for
// a fresh controller and a source speaking to it. The controller's queue
// runs on a Clock the suite moves, so leases end without waiting.
package leasetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// Harness is a source under test and the controller side it speaks to.
type Harness struct {
	Source lease.Source
	Queue  *queue.Queue // the controller's queue, on the suite's clock
	Root   *jobdir.Root // the controller's job directories
	Owner  string       // a user whose jobs the source may run
}

// Clock is a queue clock that moves only when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at a fixed time.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now is the clock's time (for queue.Config.Now).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Exercise runs the whole suite against sources made by newHarness, whose
// controller's queue must run on clock.
func Exercise(t *testing.T, newHarness func(t *testing.T, clock *Clock) *Harness) {
	run := func(name string, fn func(b *bundle)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock()
			fn(&bundle{t: t, ctx: context.Background(), clock: clock, h: newHarness(t, clock)})
		})
	}
	run("ClaimFitsFreeCPUs", testClaimFits)
	run("ClaimWaitsForWork", testClaimWaits)
	run("HeartbeatRenewsAll", testHeartbeat)
	run("HeartbeatBringsCancel", testCancel)
	run("HeartbeatBringsStop", testStop)
	run("LeaseLost", testLeaseLost)
	run("FinishAndClaimNext", testFinishNext)
	run("FinishEachOnItsOwn", testFinishMixed)
	run("Release", testRelease)
	run("Deleted", testDeleted)
}

type bundle struct {
	t     *testing.T
	ctx   context.Context
	clock *Clock
	h     *Harness
}

func (b *bundle) submit(cpus int) *job.Job {
	b.t.Helper()
	spec := json.RawMessage(`{"seconds":0}`)
	if cpus > 1 {
		spec, _ = json.Marshal(map[string]any{"seconds": 0, "resources": map[string]int{"cpus": cpus}})
	}
	j, err := b.h.Queue.Submit(b.ctx, queue.Submission{Owner: b.h.Owner, Name: "conformance", Service: "sleep", Spec: spec, CPUs: cpus}, nil)
	if err != nil {
		b.t.Fatalf("submit: %v", err)
	}
	return j
}

// claim leases jobs for want, failing unless it gets n.
func (b *bundle) claim(want lease.Want, n int) []*job.Job {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	var got []*job.Job
	for len(got) < n && ctx.Err() == nil {
		js, err := b.h.Source.Claim(ctx, lease.Want{CPUs: want.CPUs, Jobs: want.Jobs - len(got)}, nil)
		if err != nil {
			b.t.Fatalf("claim: %v", err)
		}
		for _, j := range js {
			want.CPUs -= j.CPUs
		}
		got = append(got, js...)
	}
	if len(got) != n {
		b.t.Fatalf("claimed %d jobs, want %d", len(got), n)
	}
	return got
}

func (b *bundle) get(id int64) *job.Job {
	b.t.Helper()
	j, err := b.h.Queue.Get(b.ctx, id)
	if err != nil {
		b.t.Fatalf("get job %d: %v", id, err)
	}
	return j
}

func (b *bundle) wantState(id int64, st job.State, attempt int) {
	b.t.Helper()
	if j := b.get(id); j.State != st || j.Attempt != attempt {
		b.t.Errorf("job %d is %s attempt %d, want %s attempt %d", id, j.State, j.Attempt, st, attempt)
	}
}

// prepare makes j's directory as a run does, leaving out.txt in output/.
func (b *bundle) prepare(j *job.Job, text string) {
	b.t.Helper()
	d, err := b.h.Source.Dir(b.ctx, j)
	if err != nil {
		b.t.Fatalf("dir of job %d: %v", j.ID, err)
	}
	if err := jobfs.WriteFile(d.Output(), "out.txt", []byte(text), 0o644); err != nil {
		b.t.Fatalf("write output of job %d: %v", j.ID, err)
	}
}

func (b *bundle) finish(ends []lease.End, next lease.Want) ([]error, []*job.Job) {
	b.t.Helper()
	errs, claimed, err := b.h.Source.Finish(b.ctx, ends, next)
	if err != nil {
		b.t.Fatalf("finish: %v", err)
	}
	if len(errs) != len(ends) {
		b.t.Fatalf("finish answered %d ends of %d", len(errs), len(ends))
	}
	return errs, claimed
}

func complete(j *job.Job) lease.End {
	return lease.End{Job: j, Result: lease.Result{State: job.Complete, Result: json.RawMessage(`{"ok":true}`)}}
}

func testClaimFits(b *bundle) {
	wide := b.submit(2)
	narrow := b.submit(1)
	js := b.claim(lease.Want{CPUs: 1, Jobs: 4}, 1)
	if js[0].ID != narrow.ID {
		b.t.Errorf("claimed job %d with 1 free CPU, want the 1-CPU job %d", js[0].ID, narrow.ID)
	}
	if js[0].Lease == nil || js[0].Lease.Token == "" {
		b.t.Fatalf("claimed job %d carries no lease", js[0].ID)
	}
	b.wantState(narrow.ID, job.Active, 1)
	b.wantState(wide.ID, job.Pending, 1)
	more := b.submit(1)
	js = b.claim(lease.Want{CPUs: 3, Jobs: 1}, 1) // at most one job, however many CPUs
	if js[0].ID != wide.ID {
		b.t.Errorf("claimed job %d, want the oldest that fits, %d", js[0].ID, wide.ID)
	}
	b.wantState(more.ID, job.Pending, 1)
}

func testClaimWaits(b *bundle) {
	got := make(chan []*job.Job, 1)
	go func() {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		js, _ := b.h.Source.Claim(ctx, lease.Want{CPUs: 1, Jobs: 1}, nil)
		got <- js
	}()
	j := b.submit(1)
	if js := <-got; len(js) != 1 || js[0].ID != j.ID {
		b.t.Fatalf("waiting claim got %v, want job %d", js, j.ID)
	}
	// With no work, a claim ends with its context, with no jobs.
	ctx, cancel := context.WithTimeout(b.ctx, 50*time.Millisecond)
	defer cancel()
	if js, err := b.h.Source.Claim(ctx, lease.Want{CPUs: 1, Jobs: 1}, nil); len(js) != 0 || err != nil {
		b.t.Errorf("claim on an empty queue = %v, %v; want none, no error", js, err)
	}
}

func testHeartbeat(b *bundle) {
	for range 3 {
		b.submit(1)
	}
	js := b.claim(lease.Want{CPUs: 3, Jobs: 3}, 3)
	// Two thirds of a lease later, one call renews all three, and
	// carries one job's progress.
	b.clock.Advance(b.h.Queue.Lease() * 2 / 3)
	cost := 1.5
	p := &job.Progress{Step: 7, Cost: &cost, Message: "halfway", Updated: b.clock.Now()}
	beats := []lease.Beat{{Job: js[0], Progress: p}, {Job: js[1]}, {Job: js[2]}}
	vs, err := b.h.Source.Heartbeat(b.ctx, beats)
	if err != nil || len(vs) != 3 {
		b.t.Fatalf("heartbeat = %v, %v", vs, err)
	}
	for i, v := range vs {
		if v.Err != nil || v.Cancel {
			b.t.Errorf("heartbeat of job %d: %+v", js[i].ID, v)
		}
	}
	if got := b.get(js[0].ID).Progress; got == nil || got.Step != 7 || got.Message != "halfway" {
		b.t.Errorf("progress = %+v, want step 7 \"halfway\"", got)
	}
	// The renewed leases outlive the first: nothing is reaped.
	b.clock.Advance(b.h.Queue.Lease() / 2)
	if reaped, err := b.h.Queue.Reap(b.ctx); err != nil || len(reaped) != 0 {
		b.t.Errorf("reap after renewal = %d jobs, %v; want none", len(reaped), err)
	}
	for _, j := range js {
		b.wantState(j.ID, job.Active, 1)
	}
}

func testCancel(b *bundle) {
	b.submit(1)
	b.submit(1)
	js := b.claim(lease.Want{CPUs: 2, Jobs: 2}, 2)
	if _, err := b.h.Queue.Cancel(b.ctx, js[1].ID); err != nil {
		b.t.Fatal(err)
	}
	vs, err := b.h.Source.Heartbeat(b.ctx, []lease.Beat{{Job: js[0]}, {Job: js[1]}})
	if err != nil || len(vs) != 2 {
		b.t.Fatalf("heartbeat = %v, %v", vs, err)
	}
	if vs[0].Cancel || vs[0].Err != nil || !vs[1].Cancel || vs[1].Err != nil {
		b.t.Errorf("verdicts = %+v; want only the second cancelled", vs)
	}
	errs, _ := b.finish([]lease.End{{Job: js[1], Result: lease.Result{State: job.Cancel, Reason: "cancelled while running"}}}, lease.Want{})
	if errs[0] != nil {
		b.t.Errorf("finish of the cancelled job: %v", errs[0])
	}
	b.wantState(js[1].ID, job.Cancel, 1)
}

// testStop: a stop-early request reaches the executor in the heartbeat's
// answer, for that job alone and not as a cancel; the job then ends
// COMPLETE as usual.
func testStop(b *bundle) {
	b.submit(1)
	b.submit(1)
	js := b.claim(lease.Want{CPUs: 2, Jobs: 2}, 2)
	if _, err := b.h.Queue.Stop(b.ctx, js[1].ID); err != nil {
		b.t.Fatal(err)
	}
	vs, err := b.h.Source.Heartbeat(b.ctx, []lease.Beat{{Job: js[0]}, {Job: js[1]}})
	if err != nil || len(vs) != 2 {
		b.t.Fatalf("heartbeat = %v, %v", vs, err)
	}
	if vs[0].Stop || vs[0].Cancel || vs[0].Err != nil || !vs[1].Stop || vs[1].Cancel || vs[1].Err != nil {
		b.t.Errorf("verdicts = %+v; want only the second asked to stop, neither cancelled", vs)
	}
	b.wantState(js[1].ID, job.Active, 1)
	errs, _ := b.finish([]lease.End{complete(js[1])}, lease.Want{})
	if errs[0] != nil {
		b.t.Errorf("finish of the stopped job: %v", errs[0])
	}
	b.wantState(js[1].ID, job.Complete, 1)
}

func testLeaseLost(b *bundle) {
	j := b.submit(1)
	held := b.claim(lease.Want{CPUs: 1, Jobs: 1}, 1)[0]
	b.prepare(held, "late")
	b.clock.Advance(b.h.Queue.Lease() + time.Second)
	if reaped, err := b.h.Queue.Reap(b.ctx); err != nil || len(reaped) != 1 {
		b.t.Fatalf("reap = %d jobs, %v; want the expired one", len(reaped), err)
	}
	b.wantState(j.ID, job.Pending, 2)
	vs, err := b.h.Source.Heartbeat(b.ctx, []lease.Beat{{Job: held}})
	if err != nil || len(vs) != 1 || !errors.Is(vs[0].Err, job.ErrLeaseLost) {
		b.t.Errorf("heartbeat after expiry = %+v, %v; want job.ErrLeaseLost", vs, err)
	}
	errs, _ := b.finish([]lease.End{complete(held)}, lease.Want{})
	if !errors.Is(errs[0], job.ErrLeaseLost) {
		b.t.Errorf("finish after expiry: %v, want job.ErrLeaseLost", errs[0])
	}
	b.h.Source.Abandon(held)
	b.wantState(j.ID, job.Pending, 2) // the late result changed nothing
	// The next attempt runs under a new lease.
	again := b.claim(lease.Want{CPUs: 1, Jobs: 1}, 1)[0]
	if again.ID != j.ID || again.Lease.Token == held.Lease.Token {
		b.t.Errorf("re-claim = job %d token %q; want job %d under a new lease", again.ID, again.Lease.Token, j.ID)
	}
}

func testFinishNext(b *bundle) {
	b.submit(1)
	b.submit(1)
	js := b.claim(lease.Want{CPUs: 2, Jobs: 2}, 2)
	b.prepare(js[0], "first")
	b.prepare(js[1], "second")
	n1, n2, n3 := b.submit(1), b.submit(1), b.submit(1)
	errs, next := b.finish([]lease.End{complete(js[0]), complete(js[1])}, lease.Want{CPUs: 2, Jobs: 2})
	for i, err := range errs {
		if err != nil {
			b.t.Errorf("finish of job %d: %v", js[i].ID, err)
		}
	}
	for i, text := range []string{"first", "second"} {
		b.wantState(js[i].ID, job.Complete, 1)
		got, err := jobfs.ReadFile(b.h.Root.Job(js[i].ID).Output(), "out.txt", 100)
		if err != nil || string(got) != text {
			b.t.Errorf("output of job %d = %q, %v; want %q", js[i].ID, got, err, text)
		}
		if res := b.get(js[i].ID).Result; string(res) != `{"ok":true}` {
			b.t.Errorf("result of job %d = %s", js[i].ID, res)
		}
	}
	if len(next) != 2 || next[0].ID != n1.ID || next[1].ID != n2.ID {
		b.t.Fatalf("next jobs = %v; want %d and %d", ids(next), n1.ID, n2.ID)
	}
	for _, j := range next {
		if j.Lease == nil || j.Lease.Token == "" {
			b.t.Errorf("next job %d carries no lease", j.ID)
		}
		b.wantState(j.ID, job.Active, 1)
	}
	b.wantState(n3.ID, job.Pending, 1)
	// The next jobs are held like claimed ones.
	vs, err := b.h.Source.Heartbeat(b.ctx, []lease.Beat{{Job: next[0]}, {Job: next[1]}})
	if err != nil || vs[0].Err != nil || vs[1].Err != nil {
		b.t.Errorf("heartbeat of next jobs = %+v, %v", vs, err)
	}
}

func testFinishMixed(b *bundle) {
	b.submit(1)
	b.submit(1)
	js := b.claim(lease.Want{CPUs: 2, Jobs: 2}, 2)
	if _, err := b.h.Queue.Cancel(b.ctx, js[0].ID); err != nil {
		b.t.Fatal(err)
	}
	// Cancelled and its lease expired: the run's result comes too late;
	// the other's lease was renewed, and its result is taken.
	b.clock.Advance(b.h.Queue.Lease() * 2 / 3)
	if vs, err := b.h.Source.Heartbeat(b.ctx, []lease.Beat{{Job: js[1]}}); err != nil || vs[0].Err != nil {
		b.t.Fatalf("heartbeat = %v, %v", vs, err)
	}
	b.clock.Advance(b.h.Queue.Lease()/2 + time.Second)
	if reaped, err := b.h.Queue.Reap(b.ctx); err != nil || len(reaped) != 1 {
		b.t.Fatalf("reap = %d jobs, %v; want the cancelled one", len(reaped), err)
	}
	fail := lease.End{Job: js[1], Result: lease.Result{State: job.Error, Reason: "exit status 3"}}
	errs, _ := b.finish([]lease.End{complete(js[0]), fail}, lease.Want{})
	if !errors.Is(errs[0], job.ErrLeaseLost) || errs[1] != nil {
		b.t.Errorf("finish = %v; want [lease lost, nil]", errs)
	}
	b.wantState(js[0].ID, job.Cancel, 1)
	if j := b.get(js[1].ID); j.State != job.Error || j.Reason != "exit status 3" {
		b.t.Errorf("job %d = %s %q; want ERROR \"exit status 3\"", j.ID, j.State, j.Reason)
	}
}

func testRelease(b *bundle) {
	j := b.submit(1)
	held := b.claim(lease.Want{CPUs: 1, Jobs: 1}, 1)[0]
	if err := b.h.Source.Release(b.ctx, held); err != nil {
		b.t.Fatalf("release: %v", err)
	}
	b.wantState(j.ID, job.Pending, 1) // no attempt spent: still the first
	if err := b.h.Source.Release(b.ctx, held); !errors.Is(err, job.ErrLeaseLost) {
		b.t.Errorf("second release: %v, want job.ErrLeaseLost", err)
	}
}

func testDeleted(b *bundle) {
	j := b.submit(1)
	held := b.claim(lease.Want{CPUs: 1, Jobs: 1}, 1)[0]
	b.prepare(held, "gone")
	if err := b.h.Queue.Delete(b.ctx, j.ID); err != nil {
		b.t.Fatal(err)
	}
	vs, err := b.h.Source.Heartbeat(b.ctx, []lease.Beat{{Job: held}})
	if err != nil || len(vs) != 1 || !errors.Is(vs[0].Err, job.ErrLeaseLost) {
		b.t.Errorf("heartbeat of a deleted job = %+v, %v; want job.ErrLeaseLost", vs, err)
	}
	errs, _ := b.finish([]lease.End{complete(held)}, lease.Want{})
	if !errors.Is(errs[0], job.ErrLeaseLost) {
		b.t.Errorf("finish of a deleted job: %v, want job.ErrLeaseLost", errs[0])
	}
	b.h.Source.Abandon(held)
	if _, err := b.h.Queue.Get(b.ctx, j.ID); err == nil {
		b.t.Errorf("deleted job %d is back", j.ID)
	}
}

func ids(js []*job.Job) []int64 {
	out := make([]int64, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}
