package server

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/store"
)

// archive sends every file of a job as one zip (GET .../archive).
func (s *Server) archive(w http.ResponseWriter, r *http.Request, u *store.User) {
	j, files := s.jobFiles(w, r, u)
	if j == nil {
		return
	}
	WriteArchive(w, s.cfg.Root.Job(j.ID), j.ID, files, s.log)
}

// WriteArchive streams the listed files of job id's directory as a zip,
// built as it is sent. Listed names are clean relative paths of regular
// files (jobdir's listing), and entries carry the files' real
// modification times (zip's default is 1980). The API and the pages
// share it.
func WriteArchive(w http.ResponseWriter, dir jobdir.Dir, id int64, files []jobdir.File, log *slog.Logger) {
	hd := w.Header()
	SetSafeFileHeaders(hd)
	hd.Set("Content-Type", "application/zip")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("job-%d.zip", id)}))
	zw := zip.NewWriter(w)
	for _, f := range files {
		err := addToZip(zw, dir, f.Path)
		if errors.Is(err, jobdir.ErrBadPath) {
			// Replaced by something that is not a regular file since
			// it was listed: left out.
			log.Warn("archive: file left out", "job", id, "file", f.Path)
			continue
		}
		if err != nil {
			// Headers are gone; a truncated zip is what the client sees.
			log.Warn("archive", "job", id, "file", f.Path, "err", err)
			return
		}
	}
	zw.Close()
}

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
