package slurm

import (
	"encoding/json"
	"path/filepath"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// The files a Slurm job and its executor share in the job directory, which
// lives on a file system both the controller (or head node) and the
// compute nodes see.
const (
	runFile      = "run.json"      // what run-job runs: written before sbatch
	slurmFile    = "slurm.json"    // the Slurm job id of the current attempt
	progressFile = "progress.json" // the running job's latest progress
	exitFile     = "exit.json"     // how run-job ended: its exit record
	scriptFile   = "job.sbatch"    // the batch script, kept for inspection
)

// RunSpec is what `bumpserve run-job` needs to run a job on a compute node.
type RunSpec struct {
	JobID   int64           `json:"job_id"`
	Attempt int             `json:"attempt"`
	Service string          `json:"service"`
	Spec    json.RawMessage `json:"spec"`
	CPUs    int             `json:"cpus"`
	Limits  job.Limits      `json:"limits"`
}

// ExitRecord is how run-job ended, written by it as its last act. It is
// the authority on a job's outcome: Slurm's own state says only whether
// the process exited 0.
type ExitRecord struct {
	Attempt int             `json:"attempt"`
	State   job.State       `json:"state"` // COMPLETE or ERROR
	Reason  string          `json:"reason,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	// Signalled says run-job was stopped by a signal (Slurm's scancel or
	// time limit): then Slurm's state tells why.
	Signalled bool `json:"signalled,omitempty"`
	// Protections names the confinement the job's processes ran under on
	// the compute node.
	Protections []string `json:"protections,omitempty"`
}

// submission records the Slurm job of an attempt, so that a restarted
// executor can find and cancel it.
type submission struct {
	SlurmID string `json:"slurm_id"`
	JobID   int64  `json:"job_id"`
	Attempt int    `json:"attempt"`
}

// readExit returns the exit record of attempt in dir, or nil when there is
// none (yet) for that attempt.
func readExit(dir string, attempt int) *ExitRecord {
	var rec ExitRecord
	if err := jobdir.ReadJSON(filepath.Join(dir, exitFile), &rec); err != nil || rec.Attempt != attempt {
		return nil
	}
	return &rec
}
