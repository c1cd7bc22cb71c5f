package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/bumpserve/bumpserve/internal/auth"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
)

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// AddUser creates a user with a first token and returns the token.
func AddUser(ctx context.Context, st store.UserStore, name string, role store.Role) (string, error) {
	if name == server.AnonymousOwner {
		return "", fmt.Errorf("name: %q is reserved for anonymous jobs", name)
	}
	if !userName.MatchString(name) {
		return "", fmt.Errorf("name: %q is not accepted (letters, digits, '.', '_', '@', '-'; at most 64; starting with a letter or digit)", name)
	}
	if _, err := st.CreateUser(ctx, name, role, time.Now()); err != nil {
		return "", err
	}
	return NewToken(ctx, st, name, "")
}

// NewToken issues another token for an existing user.
func NewToken(ctx context.Context, st store.UserStore, user, label string) (string, error) {
	token, hash := auth.NewToken()
	if _, err := st.CreateToken(ctx, user, label, hash, time.Now()); err != nil {
		return "", err
	}
	return token, nil
}

// AdminTokenFile is where the first admin's token is written.
const AdminTokenFile = "admin.token"

// Bootstrap creates the first admin when there are no users, and writes
// its token to DATA/admin.token (mode 0600). It returns the file's path,
// or "" when users existed already.
func (c *Controller) Bootstrap(ctx context.Context) (string, error) {
	n, err := c.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token, err := AddUser(ctx, c.Store, "admin", store.RoleAdmin)
	if errors.Is(err, store.ErrExists) { // another process won the race
		return "", nil
	}
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.cfg.Data, AdminTokenFile)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return path, nil
}

// createRemoteUser creates a user the site's login in front vouched for,
// on first sight (--auto-create-users): a plain user with no token, who
// signs in through the proxy. Another request creating it at the same
// moment is no error.
func (c *Controller) createRemoteUser(ctx context.Context, name string) (*store.User, error) {
	if name == server.AnonymousOwner || !userName.MatchString(name) {
		return nil, fmt.Errorf("name %q is not accepted (letters, digits, '.', '_', '@', '-'; at most 64; starting with a letter or digit)", name)
	}
	u, err := c.Store.CreateUser(ctx, name, store.RoleUser, time.Now())
	if errors.Is(err, store.ErrExists) {
		return c.Store.GetUser(ctx, name)
	}
	if err == nil {
		c.log.Info("created a user the site's login vouched for", "user", name)
	}
	return u, err
}
