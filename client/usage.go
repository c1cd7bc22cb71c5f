package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/bumpserve/bumpserve/api"
)

// Keep pins a job against the server's retention (keep true) or unpins
// it, and returns the job as changed.
func (c *Client) Keep(ctx context.Context, id int64, keep bool) (*Job, error) {
	body, err := jsonBody(api.KeepChange{Keep: &keep})
	if err != nil {
		return nil, err
	}
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/keep"), nil, "application/json", body, &j)
}

// Usage reports CPU time since since ("" for ever; a date YYYY-MM-DD or
// an RFC 3339 time) and disk held, for user ("" = the caller, or every
// user for an admin), and for the groups user is in.
func (c *Client) Usage(ctx context.Context, user, since string) (*api.Usage, error) {
	return c.UsageOf(ctx, UsageQuery{User: user, Since: since})
}

// UsageQuery selects a usage report (GET /api/v1/usage).
type UsageQuery struct {
	User  string // one user ("" = the caller, or every user for an admin)
	Group string // one group and, for an admin, its members' lines
	Since string // "" for ever; YYYY-MM-DD or an RFC 3339 time
}

// UsageOf reports the usage q selects.
func (c *Client) UsageOf(ctx context.Context, q UsageQuery) (*api.Usage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"user": q.User, "group": q.Group, "since": q.Since} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var out api.Usage
	return &out, c.do(ctx, http.MethodGet, "/api/v1/usage", v, "", nil, &out)
}
