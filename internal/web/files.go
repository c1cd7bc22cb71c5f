package web

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/server"
)

// file serves one of a job's files to a signed-in owner, exactly as the
// API's file route does (the same sandboxing headers, and inline only for
// types that cannot run script): the pages need a cookie-authenticated
// route because <img> cannot send a bearer token.
func (h *Handler) file(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	if !server.ServeFile(w, r, h.cfg.Root.Job(j.ID), r.PathValue("path")) {
		h.notFound(w, r, s)
	}
}

// archive sends every file of a job as one zip, streamed as it is built.
func (h *Handler) archive(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.jobFor(w, r, s)
	if j == nil {
		return
	}
	dir := h.cfg.Root.Job(j.ID)
	files, err := dir.List()
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	hd := w.Header()
	server.SetSafeFileHeaders(hd)
	hd.Set("Content-Type", "application/zip")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("job-%d.zip", j.ID)}))
	zw := zip.NewWriter(w)
	for _, f := range files {
		err := addToZip(zw, dir, f.Path)
		if errors.Is(err, jobdir.ErrBadPath) {
			// Replaced by something that is not a regular file since
			// it was listed: left out.
			h.log.Warn("archive: file left out", "job", j.ID, "file", f.Path)
			continue
		}
		if err != nil {
			// Headers are gone; a truncated zip is what the client sees.
			h.log.Warn("archive", "job", j.ID, "file", f.Path, "err", err)
			return
		}
	}
	zw.Close()
}

// addToZip adds a listed file with its modification time (zip's default
// is 1980).
func addToZip(zw *zip.Writer, dir jobdir.Dir, name string) error {
	f, info, err := dir.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: info.ModTime()})
	if err != nil {
		return err
	}
	// Exactly the size listed: a file still growing must not change it.
	_, err = io.CopyN(dst, f, info.Size())
	return err
}
