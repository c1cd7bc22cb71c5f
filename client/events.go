package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Watch follows a job's event stream, calling fn with every snapshot of
// the job, until the job reaches a terminal state (returned), ctx ends, or
// fn returns an error (returned as is). A dropped stream is reopened with
// backoff.
func (c *Client) Watch(ctx context.Context, id int64, fn func(*Job) error) (*Job, error) {
	failures := 0
	for {
		var fnErr error
		last, err := c.watchOnce(ctx, id, func(j *Job) error {
			fnErr = fn(j)
			return fnErr
		})
		if fnErr != nil {
			return last, fnErr
		}
		if last != nil && last.State.Terminal() {
			return last, nil
		}
		if err == nil {
			err = fmt.Errorf("event stream of job %d ended early", id)
		}
		if !retryable(err) {
			return last, err
		}
		failures++
		if Backoff(ctx, failures) != nil {
			return last, ctx.Err()
		}
	}
}

func (c *Client) watchOnce(ctx context.Context, id int64, fn func(*Job) error) (*Job, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(jobPath(id, "/events"), nil), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event string
	var data strings.Builder
	var last *Job
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "deleted" {
				return last, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("job %d was deleted", id)}
			}
			if event == "job" && data.Len() > 0 {
				var j Job
				if err := json.Unmarshal([]byte(data.String()), &j); err != nil {
					return last, fmt.Errorf("event: %w", err)
				}
				last = &j
				if err := fn(&j); err != nil {
					return last, err
				}
				if j.State.Terminal() {
					return last, nil
				}
			}
			event = ""
			data.Reset()
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return last, sc.Err()
}
