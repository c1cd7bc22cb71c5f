package server

import (
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/store"
)

// jobFiles lists the files of the job in the path, or answers the
// request itself (404, 500) and returns no job.
func (s *Server) jobFiles(w http.ResponseWriter, r *http.Request, u *store.User) (*job.Job, []jobdir.File) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return nil, nil
	}
	files, err := s.cfg.Root.Job(j.ID).List()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return nil, nil
	}
	return j, files
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, u *store.User) {
	j, files := s.jobFiles(w, r, u)
	if j == nil {
		return
	}
	if files == nil {
		files = []jobdir.File{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files})
}

// inlineTypes are shown in the browser; anything else is a download. None
// of them can run script, and with nosniff the browser will not guess
// otherwise.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "text/plain": true, "application/json": true,
}

// getFile serves one file a job was given or produced. A job's files are
// hostile content: they are served with a Content-Security-Policy that
// sandboxes them and allows no script, nosniff, and as attachments unless
// their type is known to be safe, so an .html or .svg from a model cannot
// run script in the service's origin.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request, u *store.User) {
	j := s.jobFor(w, r, u)
	if j == nil {
		return
	}
	rel := r.PathValue("path")
	if !ServeFile(w, r, s.cfg.Root.Job(j.ID), rel) {
		writeError(w, http.StatusNotFound, "job %d has no file %q", j.ID, rel)
	}
}

// ServeFile serves the file rel (under input/ or output/) of the job
// directory d with the safe headers and the inline-or-attachment rule of
// the API's file route, so the pages serve job files exactly as the API
// does. It reports false, having written nothing, when there is no such
// file.
func ServeFile(w http.ResponseWriter, r *http.Request, d jobdir.Dir, rel string) bool {
	f, info, err := d.Open(rel)
	if err != nil {
		return false
	}
	defer f.Close()
	ctype := contentType(rel)
	h := w.Header()
	SetSafeFileHeaders(h)
	h.Set("Content-Type", ctype)
	disposition := "attachment"
	if inlineTypes[strings.SplitN(ctype, ";", 2)[0]] {
		disposition = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": path.Base(rel)}))
	http.ServeContent(w, r, "", info.ModTime(), f)
	return true
}

// SetSafeFileHeaders sets the headers every served job file carries.
func SetSafeFileHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".txt", ".log", ".par", ".err", ".dat", ".csv", ".mon", ".py", "":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
