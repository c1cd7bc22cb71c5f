package store

import (
	"context"
	"time"
)

// Role says what a user may do.
type Role string

// The roles: admins see every job and the workers; users see their own jobs;
// workers may only use the worker routes.
const (
	RoleAdmin  Role = "admin"
	RoleUser   Role = "user"
	RoleWorker Role = "worker"
)

// User is an account that holds tokens.
type User struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
}

// Token is an API token's record; the secret itself is never stored, only
// its hash.
type Token struct {
	ID       int64      `json:"id"`
	User     string     `json:"user"`
	Label    string     `json:"label"`
	Created  time.Time  `json:"created"`
	Revoked  *time.Time `json:"revoked,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

// UserStore holds users and their tokens.
type UserStore interface {
	CreateUser(ctx context.Context, name string, role Role, now time.Time) (*User, error)
	GetUser(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	CountUsers(ctx context.Context) (int, error)
	CreateToken(ctx context.Context, user, label string, hash []byte, now time.Time) (*Token, error)
	ListTokens(ctx context.Context, user string) ([]*Token, error)
	RevokeToken(ctx context.Context, id int64, now time.Time) error
	// LookupToken finds the live (unrevoked) token with this hash and its user.
	LookupToken(ctx context.Context, hash []byte) (*User, *Token, error)
	// AuthVersion changes whenever a token is revoked, in this process or
	// any other sharing the store: a cache of verified tokens is good
	// while it stays the same. It must be cheap (it is read per request).
	AuthVersion(ctx context.Context) (string, error)
}
