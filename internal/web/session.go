package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/server"
)

// cookieName is the session cookie. It holds the API token itself: the
// server keeps no session table, and revoking the token ends the session.
const cookieName = "bumpserve_session"

// session is a signed-in request.
type session struct {
	User *server.User
	// CSRF is the token every state-changing form must send back.
	CSRF string
}

// loadSecret reads the CSRF key from path, creating it (mode 0600) on
// first use; with no path the key lives in memory for this process. It
// goes through jobfs like every file this package touches (no links
// followed), and a new key replaces the file whole, so a crash while
// writing it cannot leave a short one.
func loadSecret(path string) ([]byte, error) {
	dir, name := filepath.Dir(path), filepath.Base(path)
	if path != "" {
		if b, err := jobfs.ReadFile(dir, name, maxSecret); err == nil && len(b) >= 32 {
			return b, nil
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	if path == "" {
		return key, nil
	}
	if err := jobfs.Replace(dir, name, key, 0o600); err != nil {
		return nil, fmt.Errorf("web: session key: %w", err)
	}
	return key, nil
}

// maxSecret bounds the key file read (the key written is 32 bytes).
const maxSecret = 4096

// csrfToken ties a form to the token that signed in: an HMAC of the
// token's hash, so it needs no storage and a page of another session (or
// another server) cannot forge it.
func (h *Handler) csrfToken(tokenHash []byte) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte("csrf\x00"))
	m.Write(tokenHash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// errNoSession means the request carries no valid session.
var errNoSession = errors.New("not signed in")

// lookup resolves the session cookie, or else the user the site's login
// in front signed in (server.RemoteUser). Worker tokens cannot sign in.
func (h *Handler) lookup(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		if u := server.RemoteUser(r); u != nil && server.IsPerson(u) {
			return &session{User: u, CSRF: h.csrfToken(auth.Hash("remote-user\x00" + u.Name))}, nil
		}
		return nil, errNoSession
	}
	return h.lookupToken(r, c.Value)
}

func (h *Handler) lookupToken(r *http.Request, token string) (*session, error) {
	u, err := h.cfg.API.UserOf(r.Context(), token)
	if errors.Is(err, server.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if !server.IsPerson(u) {
		return nil, errNoSession
	}
	return &session{User: u, CSRF: h.csrfToken(auth.Hash(token))}, nil
}

// setSession stores token in the cookie: HttpOnly so no script can read
// it, SameSite=Strict so no other site's page can send it, Secure under
// TLS (here or at a trusted proxy), and only for /ui (under the base
// path: server.WithBasePath) so the API keeps demanding bearer tokens.
func setSession(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/ui", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: server.IsHTTPS(r),
	})
}

type sessionHandler func(http.ResponseWriter, *http.Request, *session)

// page serves a GET page to a signed-in user; anyone else is sent to sign
// in and brought back afterwards.
func (h *Handler) page(next sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.lookup(r)
		if errors.Is(err, errNoSession) {
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		next(w, r, s)
	})
}

// stream serves what pages load by themselves (event streams, files):
// there is no page to send the user to, so no session is a plain 401.
func (h *Handler) stream(next sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.lookup(r)
		if errors.Is(err, errNoSession) {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		if err != nil {
			http.Error(w, "look up session: "+err.Error(), http.StatusInternalServerError)
			return
		}
		next(w, r, s)
	})
}

// form guards a state-changing POST: it must come from a page of this
// origin and carry the session's csrf_token; anything else is 403 before
// the form is acted on.
func (h *Handler) form(next sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.lookup(r)
		if err != nil && !errors.Is(err, errNoSession) {
			h.serverError(w, r, err)
			return
		}
		if s == nil || !sameOrigin(r) {
			h.forbidden(w, r, s)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload+1<<20)
		if err := parseForm(r); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				h.errorPage(w, r, s, http.StatusRequestEntityTooLarge, server.UploadTooLarge(h.cfg.MaxUpload))
				return
			}
			h.errorPage(w, r, s, http.StatusBadRequest, "The form could not be read: "+err.Error())
			return
		}
		if !hmac.Equal([]byte(r.PostFormValue("csrf_token")), []byte(s.CSRF)) {
			h.forbidden(w, r, s)
			return
		}
		next(w, r, s)
	})
}

// parseForm reads a urlencoded or multipart body. Multipart files beyond
// a small buffer spill to temporary files, which net/http removes after
// the request; the submit handler bounds their total.
func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return r.ParseMultipartForm(1 << 20)
	}
	return r.ParseForm()
}

// sameOrigin refuses a POST whose Origin header names another site.
// Browsers send Origin on every cross-site POST, so this stops login CSRF
// too, which no csrf_token can (there is no session yet).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}
