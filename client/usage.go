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
// user for an admin).
func (c *Client) Usage(ctx context.Context, user, since string) (*api.Usage, error) {
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	if since != "" {
		q.Set("since", since)
	}
	var out api.Usage
	return &out, c.do(ctx, http.MethodGet, "/api/v1/usage", q, "", nil, &out)
}
