package client

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	"github.com/bumpserve/bumpserve/api"
)

// The operators' calls (admin tokens only).

func workerAdminPath(name, action string) string {
	return "/api/v1/workers/" + url.PathEscape(name) + "/" + action
}

// DrainWorker stops the named worker from taking new jobs; it finishes
// the ones it holds.
func (c *Client) DrainWorker(ctx context.Context, name string) (*api.WorkerInfo, error) {
	var w api.WorkerInfo
	return &w, c.do(ctx, http.MethodPost, workerAdminPath(name, "drain"), nil, "", nil, &w)
}

// ResumeWorker lets a drained worker take jobs again.
func (c *Client) ResumeWorker(ctx context.Context, name string) (*api.WorkerInfo, error) {
	var w api.WorkerInfo
	return &w, c.do(ctx, http.MethodPost, workerAdminPath(name, "resume"), nil, "", nil, &w)
}

// Requeue gives a job a fresh run.
func (c *Client) Requeue(ctx context.Context, id int64) (*Job, error) {
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/requeue"), nil, "", nil, &j)
}

// SetPriority changes a live job's priority (-100 to 100).
func (c *Client) SetPriority(ctx context.Context, id int64, priority int) (*Job, error) {
	body, err := jsonBody(api.PriorityChange{Priority: &priority})
	if err != nil {
		return nil, err
	}
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/priority"), nil, "application/json", body, &j)
}

// CancelUserJobs cancels every live job of one user.
func (c *Client) CancelUserJobs(ctx context.Context, user string) (*api.UserCancel, error) {
	var out api.UserCancel
	return &out, c.do(ctx, http.MethodPost, "/api/v1/users/"+url.PathEscape(user)+"/cancel", nil, "", nil, &out)
}

// drainNotice passes changes of the drain flag in a worker's answers to
// Options.OnDrain: the first answer only if it says drained, then every
// change.
type drainNotice struct {
	mu            sync.Mutex
	seen, drained bool
	fn            func(drained bool)
}

func (d *drainNotice) note(drained bool) {
	if d == nil {
		return
	}
	d.mu.Lock()
	changed := d.seen && d.drained != drained || !d.seen && drained
	d.seen, d.drained = true, drained
	d.mu.Unlock()
	if changed {
		d.fn(drained)
	}
}
