package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/bumpserve/bumpserve/internal/store"
)

// Front is how the controller sits behind a site's reverse proxy.
type Front struct {
	// BasePath is the path prefix everything answers under ("" for the
	// root); see CheckBasePath.
	BasePath string
	// TrustedProxies may send forwarding headers and the remote-user header.
	TrustedProxies Proxies
	// RemoteUserHeader, if set, names the header (X-Remote-User) in which
	// a trusted proxy passes the user its login authenticated.
	RemoteUserHeader string
	// AutoCreateUsers creates a remote user seen for the first time.
	AutoCreateUsers bool
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Check validates f, naming the flag at fault.
func (f *Front) Check() error {
	base, err := CheckBasePath(f.BasePath)
	if err != nil {
		return err
	}
	f.BasePath = base
	if f.RemoteUserHeader != "" && !headerName.MatchString(f.RemoteUserHeader) {
		return fmt.Errorf("remote-user-header: %q is not a header name (letters, digits and '-', e.g. X-Remote-User)", f.RemoteUserHeader)
	}
	if f.RemoteUserHeader != "" && len(f.TrustedProxies) == 0 {
		return errors.New("remote-user-header: needs --trusted-proxies (the proxies allowed to send it)")
	}
	if f.AutoCreateUsers && f.RemoteUserHeader == "" {
		return errors.New("auto-create-users: needs --remote-user-header (users are created from it)")
	}
	return nil
}

// Handler wraps h, the whole site, in the front door: the base path
// outermost, then the forwarding headers, then the remote user. create
// makes a remote user seen for the first time (used only with
// AutoCreateUsers).
func (f Front) Handler(h http.Handler, users store.UserStore, create func(ctx context.Context, name string) (*store.User, error)) http.Handler {
	if f.RemoteUserHeader != "" {
		ru := &remoteUsers{header: f.RemoteUserHeader, users: users}
		if f.AutoCreateUsers {
			ru.create = create
		}
		h = ru.handler(h)
	}
	return WithBasePath(withForwarding(h, f.TrustedProxies), f.BasePath)
}
