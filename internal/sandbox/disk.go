package sandbox

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// RLIMIT_FSIZE caps each file a job writes at its disk_mb, but not the
// sum: a job could write many files each under the cap. watchDisk adds
// up the space the job's writable directories take (its output and its
// private temp dir) while it runs, and ends the job with a named limit
// once they pass disk_mb. A job can overshoot by what it writes between
// two looks; the look interval is short (diskCheckMin) unless walking
// the directories is itself slow, so the watch never costs more than
// about a tenth of a CPU.
const (
	diskCheckMin = 100 * time.Millisecond
	diskCheckMax = 5 * time.Second
)

// watchDisk watches dirs until ctx ends, calling stop with a limit error
// when they hold more than limitMB.
func watchDisk(ctx context.Context, limitMB int64, dirs []string, stop context.CancelCauseFunc) {
	limit := limitMB << 20
	for wait := diskCheckMin; ; {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		var used int64
		for _, d := range dirs {
			used += diskUsage(d)
		}
		if used > limit {
			stop(&job.LimitError{Key: "disk_mb", Value: fmt.Sprintf("%d MB", limitMB),
				Detail: fmt.Sprintf("the job's files took %.1f MB", float64(used)/(1<<20))})
			return
		}
		wait = min(max(diskCheckMin, 10*time.Since(start)), diskCheckMax)
	}
}

// diskUsage is the space the files under dir occupy, not following
// links: each file counts the larger of its allocated blocks and its
// length. A sparse file takes no blocks, but the root side reads it whole
// (a remote worker's upload, the archive, the file routes), and the
// controller stores a worker's upload densely: counted by blocks alone, a
// job could leave many sparse files of disk_mb each and have gigabytes
// of zeros copied and written for it.
func diskUsage(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished, or unreadable: count what can be seen
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) == nil {
			total += max(st.Blocks*512, st.Size)
		}
		return nil
	})
	return total
}
