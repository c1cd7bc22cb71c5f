package server

import (
	"net/http"

	"github.com/bumpserve/bumpserve/api"
)

// openAPI serves the API's description. It needs no token: it tells
// nothing about the jobs, and clients generate code from it.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(api.OpenAPI)
}
