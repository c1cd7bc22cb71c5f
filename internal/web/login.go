package web

import (
	"errors"
	"net/http"
	"strings"
)

type loginData struct {
	Next  string
	Error string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := h.lookup(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther) // already signed in
		return
	}
	h.render(w, r, http.StatusOK, "login", &view{Title: "Sign in", Data: loginData{Next: next}})
}

// login trades an API token for a session cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		h.forbidden(w, r, nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	if token == "" {
		h.render(w, r, http.StatusBadRequest, "login", &view{Title: "Sign in",
			Data: loginData{Next: next, Error: "Enter your API token."}})
		return
	}
	_, err := h.lookupToken(r, token)
	if errors.Is(err, errNoSession) {
		h.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in",
			Data: loginData{Next: next, Error: "That token is not valid: it is unknown, revoked, or a worker's token."}})
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	setSession(w, r, token, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	setSession(w, r, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site's pages, so a link
// cannot use the sign-in form to send people elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "/ui//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/jobs"
	}
	return next
}
