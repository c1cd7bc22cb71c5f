package worker

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// A job run by a batch system goes on when the worker that submitted it
// dies. So that a restarted worker can take such a job up again rather
// than have it run anew, the worker keeps, in the job's directory, the job
// and its lease (heldFile) while it holds it.
const heldFile = "held.json"

type heldRecord struct {
	Job          *job.Job `json:"job"`
	LeaseToken   string   `json:"lease_token"`
	LeaseSeconds float64  `json:"lease_seconds"`
}

// keepRecord writes j's record into d, if this source resumes jobs.
func (s *RemoteSource) keepRecord(j *job.Job, d jobdir.Dir) error {
	if s.Resumable == nil {
		return nil
	}
	// 0600: the lease token lets whoever reads it act for this worker.
	return jobdir.WriteJSON(filepath.Join(string(d), heldFile), heldRecord{Job: j, LeaseToken: j.Lease.Token,
		LeaseSeconds: time.Duration(s.leaseNanos.Load()).Seconds()}, 0o600)
}

// Resumed is a job a previous run of this worker held that goes on
// without it, with its directory.
type Resumed struct {
	Job *job.Job
	Dir jobdir.Dir
}

// Resume finds the jobs the previous run of this worker held that
// Resumable says go on without it and whose leases the controller still
// honours (a heartbeat renews them), and returns them for the pool to
// take up (Pool.Resume). Call it before Sweep, which spares them.
func (s *RemoteSource) Resume(ctx context.Context) []Resumed {
	if s.Resumable == nil {
		return nil
	}
	var out []Resumed
	for _, dir := range s.jobDirs() {
		var rec heldRecord
		if jobdir.ReadJSON(filepath.Join(dir, heldFile), &rec) != nil || rec.Job == nil {
			continue
		}
		j := rec.Job
		d := s.dir(j)
		if dir != string(d) || !s.Resumable(string(d), j) {
			continue
		}
		lease := time.Duration(rec.LeaseSeconds * float64(time.Second))
		j.Lease = &job.Lease{Holder: s.Name, Token: rec.LeaseToken, Expires: time.Now().Add(lease)}
		if _, err := s.Client.Heartbeat(ctx, j.ID, api.HeartbeatRequest{Token: rec.LeaseToken, Name: s.Name}); err != nil {
			s.Logger.Info("cannot take up a job held before the restart", "job", j.ID, "err", err)
			continue
		}
		if lease > 0 {
			s.leaseNanos.Store(int64(lease))
		}
		s.held.Store(j.ID, struct{}{})
		out = append(out, Resumed{Job: j, Dir: d})
	}
	return out
}

// leftovers lists the job directories in the work directory, but for the
// jobs being taken up again.
func (s *RemoteSource) leftovers() []string {
	var dirs []string
	for _, d := range s.jobDirs() {
		if id, err := strconv.ParseInt(filepath.Base(d), 10, 64); err == nil {
			if _, held := s.held.Load(id); held {
				continue
			}
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// jobDirs lists the entries of the work directory's jobs/, each a job's
// directory (or a crash's leftover).
func (s *RemoteSource) jobDirs() []string {
	ents, _ := os.ReadDir(filepath.Join(s.WorkDir, "jobs"))
	dirs := make([]string, 0, len(ents))
	for _, e := range ents {
		dirs = append(dirs, filepath.Join(s.WorkDir, "jobs", e.Name()))
	}
	return dirs
}
