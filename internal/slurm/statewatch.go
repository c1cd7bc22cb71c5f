package slurm

import (
	"io/fs"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
)

// stateWatch hands on the saved states (a native fit's checkpoint, a bumps
// DREAM state) that run-job writes into the shared job directory. Behind
// an HTTP worker that directory is the worker's own, which the job's next
// attempt on another worker never sees: the worker sends each state to the
// controller (Env.Checkpointed), as it does for a job on its local slots.
// Its zero value watches nothing.
type stateWatch struct {
	file string            // service.StateFile of the job's service
	send func(data []byte) // Env.Checkpointed
	seen seen              // the state file as last sent
}

// newStateWatch watches the job's state file in dir, if env sends states
// on. A state already there (the earlier attempt's, which the worker
// fetched) is not sent back.
func newStateWatch(env *service.Env, dir string) stateWatch {
	file := service.StateFile(env.Job.Service)
	if env.Checkpointed == nil || file == "" {
		return stateWatch{}
	}
	w := stateWatch{file: file, send: env.Checkpointed}
	if fi, ok := w.seen.changed(dir, file); ok {
		w.seen.take(fi)
	}
	return w
}

// read sends the state file when it changed since the last look. run-job
// replaces it by rename, so a read sees a whole one.
func (w *stateWatch) read(dir string) {
	if w.send == nil {
		return
	}
	fi, ok := w.seen.changed(dir, w.file)
	if !ok {
		return
	}
	data, err := jobfs.ReadFile(dir, w.file, api.CheckpointMax)
	if err != nil {
		return // changed under us, or too large for the controller: the next look
	}
	w.seen.take(fi)
	w.send(data)
}

// seen is what a file a job rewrites by rename (its progress, its saved
// state) looked like when the tracker last handed it on.
type seen struct {
	mod  time.Time
	size int64
}

// changed returns the file rel under dir if it is a regular file that
// differs from what was seen.
func (s seen) changed(dir, rel string) (fs.FileInfo, bool) {
	fi, err := jobfs.Lstat(dir, rel)
	if err != nil || !fi.Mode().IsRegular() || (fi.ModTime().Equal(s.mod) && fi.Size() == s.size) {
		return nil, false
	}
	return fi, true
}

// take records fi as handed on.
func (s *seen) take(fi fs.FileInfo) { s.mod, s.size = fi.ModTime(), fi.Size() }
