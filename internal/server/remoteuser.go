package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/bumpserve/bumpserve/internal/store"
)

// remoteUserKey holds the *store.User a trusted proxy signed in.
type remoteUserKey struct{}

// RemoteUser is the user the site's login in front of the server (a
// trusted proxy's --remote-user-header) vouches for, or nil.
func RemoteUser(r *http.Request) *store.User {
	u, _ := r.Context().Value(remoteUserKey{}).(*store.User)
	return u
}

// remoteUsers resolves the remote-user header into a bumpserve user.
type remoteUsers struct {
	header string
	users  store.UserStore
	// create makes a user seen for the first time; nil refuses them.
	create func(ctx context.Context, name string) (*store.User, error)
}

// handler admits the header only from a trusted proxy (403 from anyone
// else: a client that names itself must not become that user), and
// passes requests without it on unchanged, for tokens to sign in.
func (ru *remoteUsers) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vals, present := r.Header[http.CanonicalHeaderKey(ru.header)]
		if !present {
			h.ServeHTTP(w, r)
			return
		}
		if !viaTrustedProxy(r) {
			writeError(w, http.StatusForbidden, "%s from %s, which is not a trusted proxy (--trusted-proxies)", ru.header, hostOf(r.RemoteAddr))
			return
		}
		if len(vals) != 1 || vals[0] == "" {
			// A proxy that found no signed-in user sends nothing or an empty value.
			r.Header.Del(ru.header)
			h.ServeHTTP(w, r)
			return
		}
		name := vals[0]
		u, err := ru.users.GetUser(r.Context(), name)
		switch {
		case errors.Is(err, store.ErrNotFound) && ru.create == nil:
			writeError(w, http.StatusForbidden, "%s: %q is not a bumpserve user (an admin adds it with `bumpserve user add %s`, or start the server with --auto-create-users)", ru.header, name, name)
			return
		case errors.Is(err, store.ErrNotFound):
			if u, err = ru.create(r.Context(), name); err != nil {
				writeError(w, http.StatusForbidden, "%s: cannot create user %q: %v", ru.header, name, err)
				return
			}
		case err != nil:
			writeError(w, http.StatusInternalServerError, "look up user %q: %v", name, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), remoteUserKey{}, u)))
	})
}
