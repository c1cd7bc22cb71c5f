package storetest

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// run claims j for a worker at start and finishes it in state at end.
func (b *bundle) run(j *job.Job, state job.State, start, end time.Time) *job.Job {
	b.t.Helper()
	js, err := b.s.ClaimJobs(b.ctx, &store.ClaimParams{Worker: "w", FreeCPUs: 64, Max: 1, Lease: time.Hour, Now: start})
	if err != nil || len(js) != 1 || js[0].ID != j.ID {
		b.t.Fatalf("claim job %d: %v, %v", j.ID, js, err)
	}
	done, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: j.ID, Token: js[0].Lease.Token, State: state, Now: end})
	if err != nil {
		b.t.Fatalf("finish job %d: %v", j.ID, err)
	}
	return done
}

// testRetention covers pins, the cleaner's choice of expired jobs, disk
// sizes and the CPU ledger behind accounting.
func testRetention(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)

	// Uploads count from submission.
	up, err := b.s.CreateJob(b.ctx, &store.CreateJobParams{Owner: "ann", Service: "sleep", CPUs: 2, Now: t0, DiskBytes: 1000})
	if err != nil || up.DiskBytes != 1000 || up.Keep || up.CPUSeconds != 0 {
		t.Fatalf("create with uploads = %+v, %v", up, err)
	}
	// A 2-CPU run of 90 s is charged 180 CPU-seconds, on the job and in the ledger.
	done := b.run(up, job.Complete, t0.Add(10*time.Second), t0.Add(100*time.Second))
	if done.CPUSeconds != 180 {
		t.Fatalf("cpu_seconds = %g, want 180", done.CPUSeconds)
	}
	old := b.create("ann", "sleep", 1, 0)
	b.run(old, job.Error, t0.Add(time.Hour), t0.Add(time.Hour+30*time.Second))
	bob := b.create("bob", "sleep", 1, 0)
	b.run(bob, job.Complete, t0.Add(2*time.Hour), t0.Add(2*time.Hour+5*time.Second))
	never := b.create("bob", "sleep", 1, 0) // cancelled before it ran: no charge
	if _, err := b.s.CancelJob(b.ctx, never.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	live := b.create("ann", "sleep", 1, 0) // still pending: never expires, not measured

	// Measuring: the finished jobs only, and each once.
	un, err := b.s.UnmeasuredJobs(b.ctx, 10)
	if err != nil || !equalIDs(un, []int64{up.ID, old.ID, bob.ID, never.ID}) {
		t.Fatalf("unmeasured = %v, %v; want %v", un, err, []int64{up.ID, old.ID, bob.ID, never.ID})
	}
	if un, _ := b.s.UnmeasuredJobs(b.ctx, 2); !equalIDs(un, []int64{up.ID, old.ID}) {
		t.Fatalf("unmeasured, limit 2 = %v", un)
	}
	err = b.s.RecordDisk(b.ctx, []store.DiskSize{{ID: up.ID, Bytes: 5000}, {ID: old.ID, Bytes: 700}, {ID: live.ID, Bytes: 9}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if un, _ := b.s.UnmeasuredJobs(b.ctx, 10); !equalIDs(un, []int64{bob.ID, never.ID}) {
		t.Fatalf("unmeasured after recording = %v", un)
	}
	if b.get(up.ID).DiskBytes != 5000 || b.get(live.ID).DiskBytes != 0 {
		t.Fatalf("disk after recording: finished %d (want 5000), live %d (want 0: not finished)",
			b.get(up.ID).DiskBytes, b.get(live.ID).DiskBytes)
	}

	// Usage: CPU of runs finished since the date, disk held now.
	all, err := b.s.Usage(b.ctx, &store.UsageParams{})
	if err != nil || len(all) != 2 {
		t.Fatalf("usage = %v, %v", all, err)
	}
	ann, bo := *all[0], *all[1]
	if ann != (store.OwnerUsage{Owner: "ann", Runs: 2, CPUSeconds: 210, Jobs: 3, DiskBytes: 5700}) {
		t.Fatalf("ann's usage = %+v", ann)
	}
	if bo != (store.OwnerUsage{Owner: "bob", Runs: 1, CPUSeconds: 5, Jobs: 2, DiskBytes: 0}) {
		t.Fatalf("bob's usage = %+v", bo)
	}
	since, err := b.s.Usage(b.ctx, &store.UsageParams{Owner: "ann", Since: t0.Add(time.Hour)})
	if err != nil || len(since) != 1 || since[0].Runs != 1 || math.Abs(since[0].CPUSeconds-30) > 1e-6 || since[0].DiskBytes != 5700 {
		t.Fatalf("ann's usage since an hour in = %+v, %v", since, err)
	}
	if none, err := b.s.Usage(b.ctx, &store.UsageParams{Owner: "nobody"}); err != nil || len(none) != 0 {
		t.Fatalf("usage of an owner with no jobs = %v, %v", none, err)
	}

	// Pins: kept jobs never expire; others go oldest first, per state.
	k, err := b.s.SetKeep(b.ctx, up.ID, true)
	if err != nil || !k.Keep || k.Version <= done.Version {
		t.Fatalf("keep = %+v, %v", k, err)
	}
	if _, err := b.s.SetKeep(b.ctx, 1<<40, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("keep a job that does not exist: %v, want ErrNotFound", err)
	}
	expired := func(st job.State, before time.Time, limit int) []int64 {
		t.Helper()
		ids, err := b.s.ExpiredJobs(b.ctx, &store.ExpiredJobsParams{State: st, Before: before, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	late := t0.Add(24 * time.Hour)
	if got := expired(job.Complete, late, 10); !equalIDs(got, []int64{bob.ID}) {
		t.Fatalf("expired COMPLETE = %v, want only %d (job %d is kept)", got, bob.ID, up.ID)
	}
	if got := expired(job.Error, t0.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("expired ERROR before it finished = %v, want none", got)
	}
	if got := expired(job.Cancel, late, 10); !equalIDs(got, []int64{never.ID}) {
		t.Fatalf("expired CANCEL = %v", got)
	}
	if k, err := b.s.SetKeep(b.ctx, up.ID, false); err != nil || k.Keep {
		t.Fatalf("unkeep = %+v, %v", k, err)
	}
	if got := expired(job.Complete, late, 1); !equalIDs(got, []int64{up.ID}) {
		t.Fatalf("expired COMPLETE, limit 1, once unpinned = %v, want the oldest, %d", got, up.ID)
	}

	// Deleting a job frees its disk but keeps what it used.
	if err := b.s.DeleteJob(b.ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	after, err := b.s.Usage(b.ctx, &store.UsageParams{Owner: "ann"})
	if err != nil || len(after) != 1 || after[0].DiskBytes != 700 || after[0].CPUSeconds != 210 || after[0].Jobs != 2 {
		t.Fatalf("ann's usage after deleting job %d = %+v, %v", up.ID, after, err)
	}

	// A requeued job is measured again when it ends again, and its new run charged too.
	if _, err := b.s.RequeueJob(b.ctx, old.ID, t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	b.run(b.get(old.ID), job.Complete, t0.Add(6*time.Hour), t0.Add(6*time.Hour+10*time.Second))
	if un, _ := b.s.UnmeasuredJobs(b.ctx, 10); !equalIDs(un, []int64{old.ID, bob.ID, never.ID}) {
		t.Fatalf("unmeasured after a requeued job ran again = %v", un)
	}
	if a, _ := b.s.Usage(b.ctx, &store.UsageParams{Owner: "ann"}); len(a) != 1 || a[0].Runs != 3 || a[0].CPUSeconds != 220 {
		t.Fatalf("ann's usage after a second run = %+v", a[0])
	}
}
