package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
)

// A native fit on an HTTP worker saves its checkpoints (a bumps DREAM
// run its state, which the worker packs) in the worker's own job directory, which the next attempt (on another worker, after a
// kill) never sees. So the worker sends each one here, and the controller
// keeps it where a local slot's fit keeps its own, <job>/checkpoint.fit
// (a bumps job's as <job>/bumps-state.tar, which bumps_resume.go reads);
// the next attempt's claim says it is there and its worker fetches it
// with the job's inputs (docs/checkpoint.md).
//
//	PUT /api/v1/worker/jobs/{id}/checkpoint  replace the job's checkpoint (lease held)
//	GET /api/v1/worker/jobs/{id}/checkpoint  the checkpoint an earlier attempt left
//	GET /api/v1/worker/jobs/{id}/continue    the ended fit a continuing job goes on from
func (s *Server) workerCheckpointRoutes() {
	wk := s.forWorkers
	s.mux.Handle("PUT /api/v1/worker/jobs/{id}/checkpoint", wk(s.workerPutCheckpoint))
	s.mux.Handle("GET /api/v1/worker/jobs/{id}/checkpoint", wk(s.workerGetState(service.StateFile)))
	s.mux.Handle("GET /api/v1/worker/jobs/{id}/continue", wk(s.workerGetState(func(svc string) string {
		if svc != "fit" {
			return ""
		}
		return service.ContinueFile
	})))
}

// savedState says how large j's saved checkpoint and continued state
// are (0: none), for its claim.
func (s *Server) savedState(j *job.Job) (checkpoint, cont int64) {
	name := service.StateFile(j.Service)
	if name == "" {
		return 0, 0
	}
	dir := string(s.cfg.Root.Job(j.ID))
	if fi, err := jobfs.Lstat(dir, name); err == nil && fi.Mode().IsRegular() {
		checkpoint = fi.Size()
	}
	if j.Service != "fit" {
		return checkpoint, 0
	}
	if fi, err := jobfs.Lstat(dir, service.ContinueFile); err == nil && fi.Mode().IsRegular() {
		cont = fi.Size()
	}
	return checkpoint, cont
}

// workerPutCheckpoint takes a held fit's latest checkpoint: written
// beside the last one and renamed over it only if it is whole, looks
// like a checkpoint, and the lease is still held after the upload, so a
// cut connection, a stray body or a worker that lost the job never
// replaces a good checkpoint.
func (s *Server) workerPutCheckpoint(w http.ResponseWriter, r *http.Request, u *store.User) {
	token := r.Header.Get("X-Lease-Token")
	j := s.heldJob(w, r, token)
	if j == nil {
		return
	}
	name := service.StateFile(j.Service)
	if name == "" {
		writeError(w, http.StatusConflict, "job %d is a %s job: only native fits (service fit) and bumps jobs keep checkpoints", j.ID, j.Service)
		return
	}
	dir := string(s.cfg.Root.Job(j.ID))
	if err := jobfs.MkdirAll(dir, 0o755); err != nil {
		storageError(w, err)
		return
	}
	jd, err := jobfs.OpenDir(dir)
	if err != nil {
		storageError(w, err)
		return
	}
	defer jd.Close()
	tmp := name + ".upload-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	f, err := jd.Create(tmp, 0o600)
	if err != nil {
		storageError(w, err)
		return
	}
	defer jd.Remove(tmp) // gone by rename if taken
	body := http.MaxBytesReader(w, r.Body, api.CheckpointMax)
	head := make([]byte, service.StateMagicLen(j.Service))
	n, err := io.ReadFull(body, head)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || err == nil && !service.LooksLikeState(j.Service, head) {
		err = fmt.Errorf("the body is not a %s checkpoint", j.Service)
	}
	if err == nil {
		_, err = f.Write(head[:n])
	}
	if err == nil {
		_, err = io.Copy(f, body)
	}
	if err == nil {
		err = f.Sync() // hours of a fit: it must outlive a crash of this machine
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "checkpoint: more than %d bytes", api.CheckpointMax)
		return
	case diskspace.IsFull(err):
		storageError(w, err)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "checkpoint: %v (the last checkpoint is kept)", err)
		return
	}
	if s.heldJob(w, r, token) == nil { // lost while it uploaded
		return
	}
	if err := jd.Rename(tmp, name); err != nil {
		storageError(w, err)
		return
	}
	if err := jd.Sync(); err != nil {
		storageError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// workerGetState sends a held job's saved state, the file file names
// for its service (404: none).
func (s *Server) workerGetState(file func(svc string) string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *store.User) {
		j := s.heldJob(w, r, r.Header.Get("X-Lease-Token"))
		if j == nil {
			return
		}
		name := file(j.Service)
		if name == "" {
			writeError(w, http.StatusNotFound, "job %d is a %s job: it has no saved state of this kind", j.ID, j.Service)
			return
		}
		f, fi, err := jobfs.Open(string(s.cfg.Root.Job(j.ID)), name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			writeError(w, http.StatusNotFound, "job %d has no saved %s", j.ID, name)
			return
		case err != nil:
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
		if _, err := io.Copy(w, f); err != nil {
			s.log.Warn("send saved state", "job", j.ID, "file", name, "err", err)
		}
	}
}
