package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/job"
)

// leaseErr turns the controller's 409 into job.ErrLeaseLost, the one
// lease-lost error: the controller no longer holds the job for this
// worker (expired, cancelled elsewhere, deleted); stop and forget it.
func leaseErr(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		return job.ErrLeaseLost
	}
	return err
}

// Heartbeats renews the leases of several held jobs in one call; the
// answer says, job by job, which to stop.
func (c *Client) Heartbeats(ctx context.Context, req api.HeartbeatsRequest) ([]api.BeatAnswer, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out api.HeartbeatsResponse
	err = c.do(ctx, http.MethodPost, "/api/v1/worker/heartbeats", nil, "application/json", body, &out)
	if err == nil {
		c.drain.note(out.Drain)
	}
	return out.Jobs, err
}

// Completions reports several held jobs' ends in one call, with their
// small outputs inline; it may bring the worker's next jobs (req.Next).
func (c *Client) Completions(ctx context.Context, req api.CompletionsRequest) (*api.CompletionsResponse, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out api.CompletionsResponse
	err = c.do(ctx, http.MethodPost, "/api/v1/worker/completions", nil, "application/json", body, &out)
	if err == nil {
		c.drain.note(out.Drain)
	}
	return &out, err
}

// AnswerError is the error one end in a batch met, as the single-job
// route would have returned it: nil, job.ErrLeaseLost, or an *Error.
func AnswerError(a api.CompletionAnswer) error {
	if a.Status < 400 {
		return nil
	}
	return leaseErr(&Error{Status: a.Status, Message: a.Error})
}

// Claim asks for jobs for a worker, waiting up to req.WaitSeconds.
func (c *Client) Claim(ctx context.Context, req api.ClaimRequest) ([]api.ClaimedJob, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out api.ClaimResponse
	err = c.do(ctx, http.MethodPost, "/api/v1/worker/claim", nil, "application/json", body, &out)
	if err == nil {
		c.drain.note(out.Drain)
	}
	return out.Jobs, err
}

// Reconcile tells the controller which jobs this named worker holds; it
// hands back the others and lists them.
func (c *Client) Reconcile(ctx context.Context, req api.ReconcileRequest) ([]int64, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out api.ReconcileResponse
	return out.Released, c.do(ctx, http.MethodPost, "/api/v1/worker/reconcile", nil, "application/json", body, &out)
}

// Input downloads a held job's input files into dir, checking names and
// sizes (at most limit bytes).
func (c *Client) Input(ctx context.Context, id int64, token, dir string, limit int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(workerPath(id, "/input"), nil), nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Lease-Token", token)
	resp, err := c.send(req)
	if err != nil {
		return leaseErr(err)
	}
	defer resp.Body.Close()
	return archive.ExtractTar(resp.Body, dir, limit, 100000)
}

func workerPath(id int64, rest string) string {
	return "/api/v1/worker/jobs/" + strconv.FormatInt(id, 10) + rest
}

// Heartbeat renews a lease; it reports a cancel, or job.ErrLeaseLost.
func (c *Client) Heartbeat(ctx context.Context, id int64, req api.HeartbeatRequest) (bool, error) {
	body, err := jsonBody(req)
	if err != nil {
		return false, err
	}
	var out api.HeartbeatResponse
	err = c.do(ctx, http.MethodPost, workerPath(id, "/heartbeat"), nil, "application/json", body, &out)
	if err == nil {
		c.drain.note(out.Drain)
	}
	return out.Cancel, leaseErr(err)
}

// Release hands a held job back unfinished.
func (c *Client) Release(ctx context.Context, id int64, token string) error {
	body, _ := jsonBody(api.HeartbeatRequest{Token: token})
	return leaseErr(c.do(ctx, http.MethodPost, workerPath(id, "/release"), nil, "application/json", body, nil))
}

// Complete reports a held job's end and uploads outputDir ("" for none)
// as one stream; job.ErrLeaseLost means the result came too late. With
// req.Next set it returns the slot's next job, if one was leased.
func (c *Client) Complete(ctx context.Context, id int64, req api.CompleteRequest, outputDir string) ([]api.ClaimedJob, error) {
	pr, pw := io.Pipe()
	// The transport sends each write to the pipe as a chunk of its own,
	// in a system call of its own: gather them, so that a small result
	// goes up in one and a large one in 64 KiB pieces.
	bw := bufio.NewWriterSize(pw, 64<<10)
	mw := multipart.NewWriter(bw)
	go func() {
		pw.CloseWithError(func() error {
			part, err := mw.CreateFormField("result")
			if err != nil {
				return err
			}
			if err := json.NewEncoder(part).Encode(req); err != nil {
				return err
			}
			if outputDir != "" {
				part, err := mw.CreateFormFile("output", "output.tar")
				if err != nil {
					return err
				}
				if err := archive.WriteTar(part, outputDir); err != nil {
					return err
				}
			}
			if err := mw.Close(); err != nil {
				return err
			}
			return bw.Flush()
		}())
	}()
	var out api.ClaimResponse
	err := c.do(ctx, http.MethodPost, workerPath(id, "/complete"), nil, mw.FormDataContentType(), pr, &out)
	pr.Close()
	return out.Jobs, leaseErr(err)
}

// Workers lists the controller's executors (admins only).
func (c *Client) Workers(ctx context.Context) ([]api.WorkerInfo, error) {
	var out struct {
		Workers []api.WorkerInfo `json:"workers"`
	}
	return out.Workers, c.do(ctx, http.MethodGet, "/api/v1/workers", nil, "", nil, &out)
}

// PutCheckpoint sends a held job's latest checkpoint to the controller,
// which keeps it for the job's next attempt; job.ErrLeaseLost if the
// lease is gone (the checkpoint is then not kept).
func (c *Client) PutCheckpoint(ctx context.Context, id int64, token string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url(workerPath(id, "/checkpoint"), nil), bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("X-Lease-Token", token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.send(req)
	if err != nil {
		return leaseErr(err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// JobState fetches a held job's saved fit state: which is "checkpoint"
// (an earlier attempt's) or "continue" (the ended fit it continues); at
// most limit bytes.
func (c *Client) JobState(ctx context.Context, id int64, token, which string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(workerPath(id, "/"+which), nil), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Lease-Token", token)
	resp, err := c.send(req)
	if err != nil {
		return nil, leaseErr(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s of job %d: more than %d bytes", which, id, limit)
	}
	return data, err
}
