// Package storetest is the conformance suite every store engine must pass.
// An engine's own test calls Exercise with a constructor for fresh stores.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// Exercise runs the whole suite against stores made by newStore.
func Exercise(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Jobs", func(t *testing.T) { t.Parallel(); testJobs(t, newStore) })
	t.Run("Claims", func(t *testing.T) { t.Parallel(); testClaims(t, newStore) })
	t.Run("Leases", func(t *testing.T) { t.Parallel(); testLeases(t, newStore) })
	t.Run("Cancel", func(t *testing.T) { t.Parallel(); testCancel(t, newStore) })
	t.Run("Users", func(t *testing.T) { t.Parallel(); testUsers(t, newStore) })
	t.Run("FairShare", func(t *testing.T) { t.Parallel(); testFairShare(t, newStore) })
	t.Run("Batches", func(t *testing.T) { t.Parallel(); testBatches(t, newStore) })
	t.Run("Admin", func(t *testing.T) { t.Parallel(); testAdmin(t, newStore) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testRetention(t, newStore) })
	t.Run("Notifications", func(t *testing.T) { t.Parallel(); testNotifications(t, newStore) })
	t.Run("NotifySettings", func(t *testing.T) { t.Parallel(); testNotifySettings(t, newStore) })
	t.Run("Groups", func(t *testing.T) { t.Parallel(); testGroups(t, newStore) })
	t.Run("Series", func(t *testing.T) { t.Parallel(); testSeries(t, newStore) })
}

// t0 is the suite's clock: tests pass times explicitly, so none waits.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

type bundle struct {
	t   *testing.T
	ctx context.Context
	s   store.Store
}

func setup(t *testing.T, newStore func(t *testing.T) store.Store) *bundle {
	return &bundle{t: t, ctx: context.Background(), s: newStore(t)}
}

func (b *bundle) create(owner, service string, cpus, priority int) *job.Job {
	b.t.Helper()
	j, err := b.s.CreateJob(b.ctx, &store.CreateJobParams{
		Owner: owner, Name: "n", Service: service, Spec: json.RawMessage(`{"seconds":0}`),
		CPUs: cpus, Priority: priority, MaxAttempts: 2, Now: t0,
	})
	if err != nil {
		b.t.Fatalf("create job: %v", err)
	}
	return j
}

func (b *bundle) claim(worker string, free, max int, now time.Time) []*job.Job {
	b.t.Helper()
	js, err := b.s.ClaimJobs(b.ctx, &store.ClaimParams{Worker: worker, FreeCPUs: free, Max: max, Lease: 10 * time.Second, Now: now})
	if err != nil {
		b.t.Fatalf("claim: %v", err)
	}
	return js
}

func (b *bundle) get(id int64) *job.Job {
	b.t.Helper()
	j, err := b.s.GetJob(b.ctx, id)
	if err != nil {
		b.t.Fatalf("get job %d: %v", id, err)
	}
	return j
}

func ids(js []*job.Job) []int64 {
	out := make([]int64, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testJobs(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	j := b.create("alice", "sleep", 1, 0)
	if j.ID <= 0 || j.State != job.Pending || j.Attempt != 1 || j.Owner != "alice" || !j.Submitted.Equal(t0) {
		t.Fatalf("created job = %+v", j)
	}
	if got := b.get(j.ID); string(got.Spec) != `{"seconds":0}` || got.Service != "sleep" {
		t.Fatalf("get = %+v", got)
	}
	if _, err := b.s.GetJob(b.ctx, j.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	// Capabilities: found by their hash only.
	capJob, err := b.s.CreateJob(b.ctx, &store.CreateJobParams{Owner: "anonymous", Service: "sleep", Now: t0, Capability: []byte("cap-hash")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.s.GetJobByCapability(b.ctx, []byte("cap-hash")); err != nil || got.ID != capJob.ID {
		t.Fatalf("get by capability = %v, %v", got, err)
	}
	for _, h := range [][]byte{nil, []byte("other")} {
		if _, err := b.s.GetJobByCapability(b.ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get by capability %q: %v", h, err)
		}
	}
	b.s.DeleteJob(b.ctx, capJob.ID)

	// A reserved id is the job's; the store never picks it itself.
	first, err := b.s.ReserveJobIDs(b.ctx, 2)
	if err != nil || first <= capJob.ID {
		t.Fatalf("reserve ids = %d, %v (last job %d)", first, err, capJob.ID)
	}
	j2, err := b.s.CreateJob(b.ctx, &store.CreateJobParams{ID: first + 1, Owner: "bob", Service: "fit", Now: t0})
	if err != nil || j2.ID != first+1 {
		t.Fatalf("create with reserved id %d = %v, %v", first+1, j2, err)
	}
	j3 := b.create("alice", "fit", 1, 0)
	if j3.ID <= first+1 {
		t.Fatalf("store picked id %d, at or below the reserved %d..%d", j3.ID, first, first+1)
	}
	if missing, err := b.s.MissingJobs(b.ctx, []int64{first, j2.ID, j3.ID}); err != nil || !equalIDs(missing, []int64{first}) {
		t.Fatalf("missing jobs = %v, %v; want the unused reserved id %d", missing, err, first)
	}

	list := func(p store.ListJobsParams) []int64 {
		js, err := b.s.ListJobs(b.ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		return ids(js)
	}
	if got := list(store.ListJobsParams{}); !equalIDs(got, []int64{j3.ID, j2.ID, j.ID}) {
		t.Errorf("list all = %v", got)
	}
	if got := list(store.ListJobsParams{Owner: "alice"}); !equalIDs(got, []int64{j3.ID, j.ID}) {
		t.Errorf("list alice = %v", got)
	}
	if got := list(store.ListJobsParams{Service: "fit"}); !equalIDs(got, []int64{j3.ID, j2.ID}) {
		t.Errorf("list fit = %v", got)
	}
	if got := list(store.ListJobsParams{Limit: 2}); !equalIDs(got, []int64{j3.ID, j2.ID}) {
		t.Errorf("page 1 = %v", got)
	}
	if got := list(store.ListJobsParams{Limit: 2, BeforeID: j2.ID}); !equalIDs(got, []int64{j.ID}) {
		t.Errorf("page 2 = %v", got)
	}
	if got := list(store.ListJobsParams{State: job.Active}); len(got) != 0 {
		t.Errorf("list active = %v", got)
	}
	counts, err := b.s.CountJobs(b.ctx, "alice")
	if err != nil || counts[job.Pending] != 2 {
		t.Errorf("count alice = %v, %v", counts, err)
	}
	if n, err := b.s.CountQueued(b.ctx, "alice"); err != nil || n != 2 {
		t.Errorf("queued alice = %d, %v", n, err)
	}

	if err := b.s.DeleteJob(b.ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.GetJob(b.ctx, j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := b.s.DeleteJob(b.ctx, j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// Ids are never reused, even after the newest job is deleted: job
	// directories are named by id.
	b.s.DeleteJob(b.ctx, j3.ID)
	if j4 := b.create("alice", "fit", 1, 0); j4.ID <= j3.ID {
		t.Fatalf("id %d reused after deleting %d", j4.ID, j3.ID)
	}
}

func testClaims(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	low := b.create("a", "sleep", 1, 0)
	wide := b.create("a", "sleep", 4, 0)
	high := b.create("a", "sleep", 1, 5)
	other := b.create("a", "fit", 1, 0)

	// Priority first, then age; a job wider than the free CPUs is skipped.
	got := b.claim("w1", 2, 10, t0)
	if !equalIDs(ids(got), []int64{high.ID, low.ID}) {
		t.Fatalf("claim 2 CPUs = %v, want [%d %d]", ids(got), high.ID, low.ID)
	}
	for _, j := range got {
		if j.State != job.Active || j.Worker != "w1" || j.Lease == nil || j.Lease.Token == "" ||
			!j.Lease.Expires.Equal(t0.Add(10*time.Second)) || j.Started == nil {
			t.Fatalf("claimed job = %+v lease %+v", j, j.Lease)
		}
	}
	if got[0].Lease.Token == got[1].Lease.Token {
		t.Fatal("two claims share a lease token")
	}
	// Service filter.
	js, err := b.s.ClaimJobs(b.ctx, &store.ClaimParams{Worker: "w2", Services: []string{"fit"}, FreeCPUs: 8, Max: 10, Lease: time.Second, Now: t0})
	if err != nil || !equalIDs(ids(js), []int64{other.ID}) {
		t.Fatalf("claim fit = %v, %v", ids(js), err)
	}
	// Max and zero capacity.
	if js := b.claim("w3", 0, 10, t0); len(js) != 0 {
		t.Fatalf("claim with no free CPUs = %v", ids(js))
	}
	if js := b.claim("w3", 8, 1, t0); !equalIDs(ids(js), []int64{wide.ID}) {
		t.Fatalf("claim wide = %v", ids(js))
	}
	if js := b.claim("w3", 8, 10, t0); len(js) != 0 {
		t.Fatalf("claim from empty queue = %v", ids(js))
	}
	held, err := b.s.HeldBy(b.ctx, "w1")
	if err != nil || len(held) != 2 {
		t.Fatalf("held by w1 = %v, %v", ids(held), err)
	}
}

func testLeases(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	j := b.create("a", "sleep", 1, 0)
	c := b.claim("w", 1, 1, t0)[0]
	tok := c.Lease.Token

	// Heartbeats renew the lease and record progress.
	cost := 1.5
	cancel, updated, err := b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: j.ID, Token: tok, Lease: 10 * time.Second,
		Now: t0.Add(8 * time.Second), Progress: &job.Progress{Step: 3, Cost: &cost, Message: "m"}})
	if err != nil || cancel {
		t.Fatalf("heartbeat = %v, %v", cancel, err)
	}
	got := b.get(j.ID)
	if updated == nil || updated.Version != got.Version || updated.Progress == nil || updated.Progress.Step != 3 {
		t.Errorf("heartbeat with progress returned %+v; want the job as stored, %+v", updated, got)
	}
	if !(j.Version < c.Version && c.Version < got.Version) {
		t.Errorf("versions: created %d, claimed %d, after heartbeat %d; want increasing", j.Version, c.Version, got.Version)
	}
	if got.Progress == nil || got.Progress.Step != 3 || *got.Progress.Cost != cost || !got.Lease.Expires.Equal(t0.Add(18*time.Second)) {
		t.Fatalf("after heartbeat: %+v %+v", got.Progress, got.Lease)
	}
	if exp, ok, err := b.s.NextLeaseExpiry(b.ctx); err != nil || !ok || !exp.Equal(t0.Add(18*time.Second)) {
		t.Fatalf("next expiry = %v %v %v", exp, ok, err)
	}
	if _, _, err := b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: j.ID, Token: "wrong", Lease: time.Second, Now: t0}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("heartbeat with wrong token: %v", err)
	}

	// Nothing expires before the lease ends.
	if js, err := b.s.RequeueExpired(b.ctx, t0.Add(17*time.Second)); err != nil || len(js) != 0 {
		t.Fatalf("early requeue = %v, %v", ids(js), err)
	}
	// Expiry: back to PENDING with attempt+1; the old lease is dead.
	js, err := b.s.RequeueExpired(b.ctx, t0.Add(19*time.Second))
	if err != nil || len(js) != 1 || js[0].State != job.Pending || js[0].Attempt != 2 || js[0].Started != nil {
		t.Fatalf("requeue = %+v, %v", js, err)
	}
	if _, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: j.ID, Token: tok, State: job.Complete, Now: t0}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("late result: %v, want ErrLeaseLost", err)
	}
	if got := b.get(j.ID); got.State != job.Pending {
		t.Fatalf("late result changed the job: %+v", got)
	}

	// Second attempt (max_attempts is 2): losing it ends the job in ERROR "lost".
	second := b.claim("w", 1, 1, t0.Add(20*time.Second))[0]
	lost, err := b.s.ExpireLease(b.ctx, j.ID, second.Lease.Token, t0.Add(21*time.Second))
	if err != nil || lost.State != job.Error || lost.Reason != job.ReasonLost || lost.Finished == nil {
		t.Fatalf("requeue past max attempts = %+v, %v", lost, err)
	}

	// A finished job stays finished: a second result is refused.
	k := b.create("a", "sleep", 1, 0)
	c = b.claim("w", 1, 1, t0)[0]
	fin, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: k.ID, Token: c.Lease.Token, State: job.Complete,
		Result: json.RawMessage(`{"ok":true}`), Protections: []string{"landlock", "rlimits"}, Now: t0.Add(time.Second)})
	if err != nil || fin.State != job.Complete || string(fin.Result) != `{"ok":true}` || len(fin.Protections) != 2 || fin.Lease != nil {
		t.Fatalf("finish = %+v, %v", fin, err)
	}
	if _, err := b.s.FinishJob(b.ctx, &store.FinishParams{ID: k.ID, Token: c.Lease.Token, State: job.Error, Now: t0}); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("second finish: %v", err)
	}
	if got := b.get(k.ID); got.State != job.Complete || got.Worker != "w" {
		t.Fatalf("after second finish: %+v", got)
	}

	// An executor that reports a run lost expires its lease at once.
	x := b.create("a", "sleep", 1, 0)
	cx, err := b.s.ClaimJobs(b.ctx, &store.ClaimParams{Worker: "w", WorkerUser: "farm", FreeCPUs: 1, Max: 1, Lease: time.Hour, Now: t0})
	if err != nil || len(cx) != 1 || cx[0].WorkerUser != "farm" {
		t.Fatalf("claim as farm = %+v, %v", cx, err)
	}
	if _, err := b.s.ExpireLease(b.ctx, x.ID, "stale", t0); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("expire with a stale token: %v", err)
	}
	if got, err := b.s.ExpireLease(b.ctx, x.ID, cx[0].Lease.Token, t0); err != nil || got.State != job.Pending || got.Attempt != 2 {
		t.Fatalf("expire = %+v, %v", got, err)
	}
	b.s.CancelJob(b.ctx, x.ID, t0) // out of the way of the claims below

	// Release hands a job back without spending an attempt.
	r := b.create("a", "sleep", 1, 0)
	c = b.claim("w", 1, 1, t0)[0]
	rel, err := b.s.ReleaseJob(b.ctx, r.ID, c.Lease.Token)
	if err != nil || rel.State != job.Pending || rel.Attempt != 1 {
		t.Fatalf("release = %+v, %v", rel, err)
	}
}

func testCancel(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	p := b.create("a", "sleep", 1, 0)
	got, err := b.s.CancelJob(b.ctx, p.ID, t0)
	if err != nil || got.State != job.Cancel || got.Finished == nil {
		t.Fatalf("cancel pending = %+v, %v", got, err)
	}
	if _, err := b.s.CancelJob(b.ctx, p.ID, t0); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("cancel finished: %v", err)
	}
	if _, err := b.s.CancelJob(b.ctx, 99999, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel missing: %v", err)
	}

	a := b.create("a", "sleep", 1, 0)
	c := b.claim("w", 1, 1, t0)[0]
	got, err = b.s.CancelJob(b.ctx, a.ID, t0)
	if err != nil || got.State != job.Active || !got.CancelRequested {
		t.Fatalf("cancel active = %+v, %v", got, err)
	}
	cancel, _, err := b.s.Heartbeat(b.ctx, &store.HeartbeatParams{ID: a.ID, Token: c.Lease.Token, Lease: time.Second, Now: t0})
	if err != nil || !cancel {
		t.Fatalf("heartbeat after cancel = %v, %v", cancel, err)
	}
	// An executor that vanishes after a cancel request ends the job in CANCEL.
	js, err := b.s.RequeueExpired(b.ctx, t0.Add(time.Hour))
	if err != nil || len(js) != 1 || js[0].State != job.Cancel {
		t.Fatalf("expiry after cancel = %+v, %v", js, err)
	}
}

func testUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	if n, err := b.s.CountUsers(b.ctx); err != nil || n != 0 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if _, err := b.s.CreateUser(b.ctx, "alice", store.RoleUser, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.CreateUser(b.ctx, "alice", store.RoleAdmin, t0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	if _, err := b.s.CreateToken(b.ctx, "nobody", "", []byte("h0"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token for missing user: %v", err)
	}
	tok, err := b.s.CreateToken(b.ctx, "alice", "laptop", []byte("h1"), t0)
	if err != nil {
		t.Fatal(err)
	}
	u, got, err := b.s.LookupToken(b.ctx, []byte("h1"))
	if err != nil || u.Name != "alice" || u.Role != store.RoleUser || got.ID != tok.ID || got.Label != "laptop" {
		t.Fatalf("lookup = %+v %+v %v", u, got, err)
	}
	if _, _, err := b.s.LookupToken(b.ctx, []byte("h2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup unknown: %v", err)
	}
	// Token caches rely on AuthVersion changing with every revocation.
	before, err := b.s.AuthVersion(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.create("alice", "sleep", 1, 0) // other writes need not change it
	if err := b.s.RevokeToken(b.ctx, tok.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.s.LookupToken(b.ctx, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lookup revoked: %v", err)
	}
	if after, err := b.s.AuthVersion(b.ctx); err != nil || after == before {
		t.Fatalf("auth version after a revocation = %q, %v; before it %q", after, err, before)
	}
	if err := b.s.RevokeToken(b.ctx, tok.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	toks, err := b.s.ListTokens(b.ctx, "alice")
	if err != nil || len(toks) != 1 || toks[0].Revoked == nil {
		t.Fatalf("list tokens = %+v, %v", toks, err)
	}
	users, err := b.s.ListUsers(b.ctx)
	if err != nil || len(users) != 1 {
		t.Fatalf("list users = %v, %v", users, err)
	}
}

func testFairShare(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	// The old system's scenario: user 1 submits j1 and j2, j1 starts;
	// user 2 submits j3; j3 runs before j2.
	j1 := b.create("user1", "sleep", 1, 0)
	j2 := b.create("user1", "sleep", 1, 0)
	if got := b.claim("w", 1, 1, t0); !equalIDs(ids(got), []int64{j1.ID}) {
		t.Fatalf("first claim = %v", ids(got))
	}
	j3 := b.create("user2", "sleep", 1, 0)
	if got := b.claim("w", 1, 1, t0); !equalIDs(ids(got), []int64{j3.ID}) {
		t.Fatalf("second claim = %v, want j3 %d before j2 %d", ids(got), j3.ID, j2.ID)
	}

	// Many queued jobs of one user do not starve another: a claim of
	// four alternates between them.
	c := setup(t, newStore)
	var heavy []int64
	for range 10 {
		heavy = append(heavy, c.create("heavy", "sleep", 1, 0).ID)
	}
	light := []int64{c.create("light", "sleep", 1, 0).ID, c.create("light", "sleep", 1, 0).ID}
	got := ids(c.claim("w", 4, 4, t0))
	want := []int64{heavy[0], light[0], heavy[1], light[1]}
	if !equalIDs(got, want) {
		t.Fatalf("claim of 4 = %v, want %v", got, want)
	}

	// Past usage counts: a user who used an hour of CPU an hour ago waits
	// behind one who used none.
	d := setup(t, newStore)
	old := d.create("old", "sleep", 1, 0)
	c0 := d.claim("w", 1, 1, t0)[0]
	if _, err := d.s.FinishJob(d.ctx, &store.FinishParams{ID: old.ID, Token: c0.Lease.Token, State: job.Complete,
		Now: t0.Add(time.Hour), HalfLife: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	d.create("old", "sleep", 1, 0)
	n := d.create("new", "sleep", 1, 0)
	claim := func(now time.Time, halfLife time.Duration) int64 {
		js, err := d.s.ClaimJobs(d.ctx, &store.ClaimParams{Worker: "w", FreeCPUs: 1, Max: 1, Lease: time.Second,
			Now: now, HalfLife: halfLife})
		if err != nil || len(js) != 1 {
			t.Fatalf("claim: %v %v", js, err)
		}
		return js[0].ID
	}
	if got := claim(t0.Add(2*time.Hour), 24*time.Hour); got != n.ID {
		t.Errorf("with fresh usage, claimed %d, want the new user's %d", got, n.ID)
	}

	// MaxRunning caps one owner's running jobs.
	e := setup(t, newStore)
	for range 3 {
		e.create("u", "sleep", 1, 0)
	}
	js, err := e.s.ClaimJobs(e.ctx, &store.ClaimParams{Worker: "w", FreeCPUs: 8, Max: 8, Lease: time.Second, Now: t0, MaxRunning: 2})
	if err != nil || len(js) != 2 {
		t.Fatalf("claim with MaxRunning 2 = %d jobs, %v", len(js), err)
	}
	if js, _ := e.s.ClaimJobs(e.ctx, &store.ClaimParams{Worker: "w", FreeCPUs: 8, Max: 8, Lease: time.Second, Now: t0, MaxRunning: 2}); len(js) != 0 {
		t.Fatalf("claim past MaxRunning = %d jobs", len(js))
	}
}
