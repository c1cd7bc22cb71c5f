package web

import (
	"net/http"

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

// archive sends every file of a job as one zip, as the API's archive
// route does.
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
	server.WriteArchive(w, dir, j.ID, files, h.log)
}
