package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/bumpserve/bumpserve/internal/store"
)

// authenticate resolves the caller's token (a bearer token, or the
// password of HTTP basic auth for old clients), or else the user a
// trusted proxy signed in, and lets through only the given roles.
func (s *Server) authenticate(h func(http.ResponseWriter, *http.Request, *store.User), roles ...store.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := bearer(r)
		if u := RemoteUser(r); token == "" && u != nil {
			// The site's login in front vouched for this user; a token,
			// when one is sent, still decides (scripts, workers).
			if !slices.Contains(roles, u.Role) {
				writeError(w, http.StatusForbidden, "this route is for %s users", roles[0])
				return
			}
			h(w, r, u)
			return
		}
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bumpserve"`)
			writeError(w, http.StatusUnauthorized, "missing token: send Authorization: Bearer TOKEN")
			return
		}
		u, err := s.UserOf(r.Context(), token)
		if errors.Is(err, ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bumpserve", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid or revoked token")
			return
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "look up token: %v", err)
			return
		}
		if !slices.Contains(roles, u.Role) {
			if u.Role == store.RoleWorker {
				writeError(w, http.StatusForbidden, "worker tokens may only use the worker routes")
			} else {
				writeError(w, http.StatusForbidden, "this route is for %s tokens", roles[0])
			}
			return
		}
		h(w, r, u)
	})
}

func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	return ""
}

// CanSee reports whether u may see jobs owned by owner.
func CanSee(u *User, owner string) bool {
	return IsAdmin(u) || u.Name == owner
}
