package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/proc"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// RemoteSource feeds a pool from a controller over HTTP: the successor of
// the old bumpworkd. Claims long-poll (no polling interval), so a free
// worker hears of a new job as soon as it is submitted; it asks only for
// as many CPUs as it has free, so it never holds a job it cannot run.
type RemoteSource struct {
	Client   *client.Client
	Name     string
	Slots    int
	Services []string
	WorkDir  string // where jobs' directories live on this machine
	MaxInput int64  // bytes of input accepted per job
	Logger   *slog.Logger
	// Resumable, if set, says whether a job in dir, held by a previous
	// run of this worker, goes on without it and can be taken up again
	// (the Slurm executor's CanResume); see Resume.
	Resumable func(dir string, j *job.Job) bool
	// SweepDir, if set, stops what a job directory left from a previous
	// run may still have running elsewhere (the Slurm executor's Sweep),
	// before Sweep removes the directory.
	SweepDir func(dir string)

	leaseNanos atomic.Int64 // the controller's lease, learned from claims
	inputs     sync.Map     // job id → number of input files, from claims
	saved      sync.Map     // job id → savedState, from claims
	held       sync.Map     // job id → struct{}: jobs this worker runs
	// removing: job id → a channel closed once the local copy of the
	// job's ended run is gone (see Finish); a new attempt waits for it.
	removing sync.Map
}

var _ lease.Source = (*RemoteSource)(nil)

// claimWait is how long one claim may be held open by the controller.
const claimWait = 30 * time.Second

// leaseDefault stands for the controller's lease until a claim tells it.
const leaseDefault = 30 * time.Second

// Claim implements lease.Source, retrying with backoff while the
// controller is unreachable.
func (s *RemoteSource) Claim(ctx context.Context, want lease.Want, _ <-chan struct{}) ([]*job.Job, error) {
	for failures := 0; ; {
		got, err := s.Client.Claim(ctx, api.ClaimRequest{
			Name: s.Name, Slots: s.Slots, Free: want.CPUs, MaxJobs: want.Jobs, Services: s.Services, WaitSeconds: claimWait.Seconds(),
		})
		if ctx.Err() != nil && (err != nil || len(got) == 0) {
			// The pool shuts down; the controller may have leased jobs
			// in an answer we never read. Hand those back now rather
			// than at the end of their leases.
			s.reconcile(false)
			return nil, nil
		}
		if err != nil {
			failures++
			s.Logger.Warn("claim failed; retrying", "err", err, "attempt", failures)
			if client.Backoff(ctx, failures) != nil {
				return nil, nil
			}
			continue
		}
		failures = 0
		if len(got) == 0 {
			continue
		}
		out := make([]*job.Job, len(got))
		for i, c := range got {
			out[i] = s.adopt(c)
		}
		return out, nil
	}
}

// adopt makes a job leased to this worker one it holds.
func (s *RemoteSource) adopt(c api.ClaimedJob) *job.Job {
	lease := time.Duration(c.LeaseSeconds * float64(time.Second))
	s.leaseNanos.Store(int64(lease))
	j := c.Job
	j.Spec = c.Spec
	j.Lease = &job.Lease{Holder: s.Name, Token: c.LeaseToken, Expires: time.Now().Add(lease)}
	s.inputs.Store(j.ID, c.Inputs)
	if c.Checkpoint > 0 || c.Continue > 0 {
		s.saved.Store(j.ID, savedState{c.Checkpoint, c.Continue})
	}
	s.held.Store(j.ID, struct{}{})
	return j
}

func (s *RemoteSource) dir(j *job.Job) jobdir.Dir {
	return jobdir.Dir(filepath.Join(s.WorkDir, "jobs", strconv.FormatInt(j.ID, 10)))
}

// Dir implements lease.Source: a fresh local directory with the job's input
// downloaded (retrying transient failures within the lease).
func (s *RemoteSource) Dir(ctx context.Context, j *job.Job) (jobdir.Dir, error) {
	d := s.dir(j)
	if gone, ok := s.removing.Load(j.ID); ok { // an ended run of it (requeued since)
		<-gone.(chan struct{})
	}
	jobfs.RemoveTree(string(d))
	if n, ok := s.inputs.LoadAndDelete(j.ID); ok && n.(int) == 0 {
		return d, s.prepare(j, d) // nothing to download
	}
	deadline := j.Lease.Expires
	for failures := 0; ; {
		err := s.Client.Input(ctx, j.ID, j.Lease.Token, d.Input(), s.MaxInput)
		if err == nil {
			break
		}
		if errors.Is(err, job.ErrLeaseLost) || errors.Is(err, archive.ErrTooLarge) || time.Now().After(deadline) {
			return d, fmt.Errorf("download input: %w", err)
		}
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status < 500 {
			return d, fmt.Errorf("download input: %w", err)
		}
		failures++
		jobfs.RemoveTree(d.Input())
		if client.Backoff(ctx, failures) != nil {
			return d, ctx.Err()
		}
	}
	return d, s.prepare(j, d)
}

func (s *RemoteSource) prepare(j *job.Job, d jobdir.Dir) error {
	if err := d.Prepare(j.Attempt); err != nil {
		return err
	}
	if err := s.fetchSaved(j, d); err != nil {
		return err
	}
	return s.keepRecord(j, d)
}

// Heartbeat implements lease.Source: one call for every running job.
func (s *RemoteSource) Heartbeat(ctx context.Context, beats []lease.Beat) ([]lease.Verdict, error) {
	req := api.HeartbeatsRequest{Name: s.Name, Jobs: make([]api.JobBeat, len(beats))}
	for i, b := range beats {
		req.Jobs[i] = api.JobBeat{ID: b.Job.ID, Token: b.Job.Lease.Token, Progress: b.Progress}
	}
	answers, err := s.Client.Heartbeats(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(answers) != len(beats) {
		return nil, fmt.Errorf("heartbeats: %d answers for %d jobs", len(answers), len(beats))
	}
	out := make([]lease.Verdict, len(beats))
	for i, a := range answers {
		switch {
		case a.LeaseLost:
			s.held.Delete(beats[i].Job.ID)
			out[i].Err = job.ErrLeaseLost
		case a.Error != "":
			out[i].Err = errors.New(a.Error)
		default:
			out[i].Cancel, out[i].Stop = a.Cancel, a.Stop
		}
	}
	return out, nil
}

// Abandon implements lease.Source: the local copy goes.
func (s *RemoteSource) Abandon(j *job.Job) {
	s.held.Delete(j.ID)
	s.saved.Delete(j.ID)
	s.forget(s.dir(j))
}

// Release implements lease.Source.
func (s *RemoteSource) Release(ctx context.Context, j *job.Job) error {
	err := s.Client.Release(ctx, j.ID, j.Lease.Token)
	s.held.Delete(j.ID)
	s.forget(s.dir(j))
	return err
}

// reconcile tells the controller which jobs this worker holds, so it hands
// back any others leased under this worker's name.
func (s *RemoteSource) reconcile(restarted bool) {
	req := api.ReconcileRequest{Name: s.Name, Restarted: restarted, Holding: []int64{}}
	s.held.Range(func(k, _ any) bool { req.Holding = append(req.Holding, k.(int64)); return true })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	released, err := s.Client.Reconcile(ctx, req)
	if err != nil {
		s.Logger.Warn("reconcile held jobs", "err", err)
	} else if len(released) > 0 {
		s.Logger.Info("handed back jobs this worker did not hold", "jobs", released, "restarted", restarted)
	}
}

func (s *RemoteSource) forget(d jobdir.Dir) {
	proc.Sweep(filepath.Join(string(d), "proc.json"))
	jobfs.RemoveTree(string(d))
}

// Watch implements lease.Source: cancels arrive with heartbeats.
func (s *RemoteSource) Watch(*job.Job) <-chan struct{} { return nil }

// Progress implements lease.Source: progress travels with heartbeats.
func (s *RemoteSource) Progress(*job.Job, *job.Progress) {}

// HeartbeatEvery implements lease.Source: three chances per lease.
func (s *RemoteSource) HeartbeatEvery() time.Duration {
	if l := time.Duration(s.leaseNanos.Load()); l > 0 {
		return l / 3
	}
	return leaseDefault / 3
}

// Sweep stops what a crashed run of this worker left (its processes, and
// through SweepDir its batch jobs), clears its work directory, and has the
// controller requeue the jobs that run held (they count an attempt),
// instead of waiting for their leases; jobs taken up again (Resume) are
// spared.
func (s *RemoteSource) Sweep() {
	defer s.reconcile(true)
	for _, d := range s.leftovers() {
		if s.SweepDir != nil {
			s.SweepDir(d)
		}
		if killed, _ := proc.Sweep(filepath.Join(d, "proc.json")); killed {
			s.Logger.Info("killed a job process left from before the restart", "dir", d)
		}
		jobfs.RemoveTree(d)
	}
}
