package store

import (
	"context"
	"time"
)

// Group is a named set of users that jobs can be shared with: its
// members may read a shared job (never change it) and copy it as their own.
type Group struct {
	Name    string    `json:"name"`
	Members []string  `json:"members"` // by name; never nil
	Created time.Time `json:"created"`
}

// GroupStore holds groups, their members and which jobs are shared with
// which groups. A deleted job's shares go with it.
type GroupStore interface {
	// CreateGroup makes an empty group; ErrExists if the name is taken.
	CreateGroup(ctx context.Context, name string, now time.Time) (*Group, error)
	// ListGroups lists every group with its members, by name.
	ListGroups(ctx context.Context) ([]*Group, error)
	// SetGroupMember puts user in group (member) or takes them out.
	// Either is done when already so. ErrNotFound (wrapped, naming which)
	// for no such group or user.
	SetGroupMember(ctx context.Context, group, user string, member bool) error
	// UserGroups lists the groups user belongs to, by name.
	UserGroups(ctx context.Context, user string) ([]string, error)
	// ShareJob shares job id with groups (share) or stops sharing it, in
	// one transaction; either is done when already so. ErrNotFound
	// (wrapped, naming which) for no such job or group.
	ShareJob(ctx context.Context, id int64, groups []string, share bool) error
	// JobGroups lists the groups job id is shared with, by name.
	JobGroups(ctx context.Context, id int64) ([]string, error)
	// SharedWith reports whether job id is shared with a group user
	// belongs to.
	SharedWith(ctx context.Context, id int64, user string) (bool, error)
}
