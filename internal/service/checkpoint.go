package service

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/fit"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// A native fit keeps its checkpoint in the job's directory, beside the
// running log: a directory the job's processes cannot write and that
// jobdir.Dir.Prepare leaves in place from one attempt to the next (it
// moves only output/ and the log aside), so an attempt after a requeue on
// the same data directory finds it. Files there are reached only through
// package jobfs.
const (
	// CheckpointFile is the fit's latest saved state.
	CheckpointFile = "checkpoint.fit"
	// ContinueFile is an ended fit's final state that a new job continues
	// (bumpserve resume), put there when the job is created.
	ContinueFile = "continue.fit"
	// StopFile, once it exists, asks the running fit (native or bumps)
	// to stop early; the way a stop reaches a fit run by Slurm on a
	// shared job directory.
	StopFile = "stop.request"
	// maxCheckpoint bounds a checkpoint read back: DREAM's state holds
	// every draw, 10 million draws of 10 parameters are about 800 MB.
	maxCheckpoint = 2 << 30
	// stopPoll is how often a running fit looks for StopFile.
	stopPoll = time.Second
)

// JobDir is the job's own directory, which holds Output (output/),
// Input (input/) and the root side's records.
func (e *Env) JobDir() string { return filepath.Dir(e.Output) }

// checkpointIO is how a fit job's checkpoints are kept.
type checkpointIO struct {
	dir  string
	log  func(format string, a ...any)
	sent func(data []byte) // Env.Checkpointed, may be nil
}

// load returns the state a fit goes on from: this job's own checkpoint
// (an earlier attempt's), else the ended fit it continues (cont). A
// checkpoint that cannot be read or is not one is logged and left out:
// the fit starts afresh.
func (c checkpointIO) load() (data []byte, cont bool, err error) {
	own, err := jobfs.ReadFile(c.dir, CheckpointFile, maxCheckpoint)
	if err == nil {
		if _, err = fit.InspectCheckpoint(own); err == nil {
			return own, false, nil
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		c.log("checkpoint not used, starting afresh: %v", err)
	}
	prev, err := jobfs.ReadFile(c.dir, ContinueFile, maxCheckpoint)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read the fit to continue: %w", err)
	}
	return prev, true, nil
}

// save writes a checkpoint atomically: into a new file renamed over the
// last, so that a process killed mid-write leaves the previous one.
func (c checkpointIO) save(cp fit.Checkpoint) error {
	if err := jobfs.ReplaceDurable(c.dir, CheckpointFile, cp.Data, 0o600); err != nil {
		return err
	}
	if c.sent != nil {
		c.sent(cp.Data)
	}
	return nil
}

// stopSignal returns a channel closed when the job is asked to stop
// early: by the executor's signal (sig, may be nil) or by StopFile
// appearing in the job's directory jobDir. done ends the watch.
func stopSignal(jobDir string, sig <-chan struct{}, done <-chan struct{}) <-chan struct{} {
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(stopPoll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-sig:
				close(stop)
				return
			case <-tick.C:
				if _, err := jobfs.Lstat(jobDir, StopFile); err == nil {
					close(stop)
					return
				}
			}
		}
	}()
	return stop
}
