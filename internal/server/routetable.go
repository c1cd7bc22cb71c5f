package server

import (
	"net/http"
	"slices"
)

// routeMux is an http.ServeMux that remembers the patterns registered
// on it, so that the routes can be listed: the OpenAPI test sends a
// request to every one, and a route added without a description fails it.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers h for pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Routes lists the patterns of every route this server answers, in the
// order registered (http.ServeMux syntax: "METHOD /path/{name}").
func (s *Server) Routes() []string { return slices.Clone(s.mux.patterns) }
