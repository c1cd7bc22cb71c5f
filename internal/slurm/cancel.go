package slurm

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// cancel scancels Slurm job id, retrying briefly: a lost scancel would
// leave the job running on with nobody watching it.
func (e *Executor) cancel(id string) {
	var err error
	for range 3 {
		ctx, stop := context.WithTimeout(context.Background(), cmdTimeout)
		_, err = e.run.scancel(ctx, id)
		stop()
		if err == nil || errors.Is(err, errUnknownJob) {
			return
		}
		time.Sleep(e.cfg.Poll) // slurmctld busy; try again shortly
	}
	e.log.Error("scancel failed", "slurm_id", id, "err", err)
}

// Sweep cancels the Slurm job recorded in a job directory, if it still
// runs: a restarted controller calls it for each job its previous
// process held before putting the job back in the queue, so that the
// old run does not write into the new attempt's directory.
func (e *Executor) Sweep(dir string) {
	var sub submission
	if jobdir.ReadJSON(filepath.Join(dir, slurmFile), &sub) != nil || sub.SlurmID == "" {
		return
	}
	if !e.inQueue(sub.SlurmID) {
		return
	}
	e.log.Info("cancelling a Slurm job left from before the restart", "slurm_id", sub.SlurmID, "job", sub.JobID)
	e.cancel(sub.SlurmID)
	deadline := time.Now().Add(e.cfg.CancelWait)
	for time.Now().Before(deadline) && e.inQueue(sub.SlurmID) {
		time.Sleep(e.cfg.Poll)
	}
}

// inQueue says whether Slurm job id is still queued or running. Each look
// has a timeout of its own: one shared by the whole wait ran out after
// cmdTimeout, cutting CancelWait short.
func (e *Executor) inQueue(id string) bool {
	ctx, stop := context.WithTimeout(context.Background(), cmdTimeout)
	defer stop()
	out, err := e.run.squeue(ctx, "-h", "-o", "%T", "-j", id)
	return err == nil && active(strings.TrimSpace(out))
}
