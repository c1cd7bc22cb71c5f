package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Groups (docs/groups.md): admins make them and add members; owners
// share jobs with groups of theirs; members read those jobs and copy them.

// Group is a named set of users jobs can be shared with. The client
// spells it out rather than take the store's type: an HTTP worker, which
// imports the client, must not depend on the store.
type Group struct {
	Name    string    `json:"name"`
	Members []string  `json:"members"` // by name; never nil
	Created time.Time `json:"created"`
}

// GroupList is the answer of GET /api/v1/groups.
type GroupList struct {
	Groups []*Group `json:"groups"`
}

// Groups lists every group (an admin's token) or the caller's own.
func (c *Client) Groups(ctx context.Context) ([]*Group, error) {
	var out GroupList
	return out.Groups, c.do(ctx, http.MethodGet, "/api/v1/groups", nil, "", nil, &out)
}

// CreateGroup makes an empty group (admins).
func (c *Client) CreateGroup(ctx context.Context, name string) (*Group, error) {
	body, err := jsonBody(map[string]string{"name": name})
	if err != nil {
		return nil, err
	}
	var g Group
	return &g, c.do(ctx, http.MethodPost, "/api/v1/groups", nil, "application/json", body, &g)
}

// SetGroupMember puts user in group (member) or takes them out (admins),
// and returns the group as it is now.
func (c *Client) SetGroupMember(ctx context.Context, group, user string, member bool) (*Group, error) {
	method := http.MethodPost
	if !member {
		method = http.MethodDelete
	}
	var g Group
	return &g, c.do(ctx, method, "/api/v1/groups/"+url.PathEscape(group)+"/members/"+url.PathEscape(user), nil, "", nil, &g)
}

// Share shares a job with groups of its owner's (share), or stops
// sharing it, and returns the job with its groups.
func (c *Client) Share(ctx context.Context, id int64, groups []string, share bool) (*Job, error) {
	body, err := jsonBody(map[string][]string{"groups": groups})
	if err != nil {
		return nil, err
	}
	action := "/share"
	if !share {
		action = "/unshare"
	}
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, action), nil, "application/json", body, &j)
}

// Copy submits, as the caller's own, a new job with the spec and input
// files of one the caller may see; name "" names it after the original.
func (c *Client) Copy(ctx context.Context, id int64, name string) (*Job, error) {
	body, err := jsonBody(map[string]string{"name": name})
	if err != nil {
		return nil, err
	}
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/copy"), nil, "application/json", body, &j)
}
