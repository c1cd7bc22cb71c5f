package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
)

// Stop asks a running native fit to end early, COMPLETE with its best
// point so far and, for DREAM, the draws so far.
func (c *Client) Stop(ctx context.Context, id int64) (*Job, error) {
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/stop"), nil, "", nil, &j)
}

// Resume submits a new job continuing the ended DREAM fit id from its
// final state for samples more draws, and returns the new job.
func (c *Client) Resume(ctx context.Context, id int64, samples int, name string) (*Job, error) {
	body, _ := json.Marshal(map[string]any{"samples": samples, "name": name})
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/resume"), nil, "application/json", bytes.NewReader(body), &j)
}
