package slurm

import (
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
	mod  time.Time
	size int64
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
	if fi, err := jobfs.Lstat(dir, file); err == nil {
		w.mod, w.size = fi.ModTime(), fi.Size()
	}
	return w
}

// read sends the state file when it changed since the last look. run-job
// replaces it by rename, so a read sees a whole one.
func (w *stateWatch) read(dir string) {
	if w.send == nil {
		return
	}
	fi, err := jobfs.Lstat(dir, w.file)
	if err != nil || !fi.Mode().IsRegular() || (fi.ModTime().Equal(w.mod) && fi.Size() == w.size) {
		return
	}
	data, err := jobfs.ReadFile(dir, w.file, api.CheckpointMax)
	if err != nil {
		return // changed under us, or too large for the controller: the next look
	}
	w.mod, w.size = fi.ModTime(), fi.Size()
	w.send(data)
}
