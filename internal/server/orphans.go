package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/store"
)

// OrphanAge is how old a job directory without a job must be before
// SweepOrphans removes it: younger, it may belong to a submission that
// another controller sharing the data directory is committing now.
const OrphanAge = time.Minute

// SweepOrphans removes the job directories that no job has: the files of
// a submission put in place under a reserved id by a process that died
// before the job's commit (see queue.SubmitAll), or of a deleted job
// whose removal a crash cut short. It runs when a controller starts and
// returns how many it removed.
func SweepOrphans(ctx context.Context, root *jobdir.Root, st store.JobStore, now time.Time) (int, error) {
	ids, err := root.JobIDs()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	missing, err := st.MissingJobs(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("sweep job dirs: %w", err)
	}
	n := 0
	for _, id := range missing {
		dir := string(root.Job(id))
		fi, err := jobfs.Lstat(filepath.Dir(dir), filepath.Base(dir))
		if err != nil || now.Sub(fi.ModTime()) < OrphanAge {
			continue
		}
		if err := root.Remove(id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
