package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
)

// Submission is a job to submit.
type Submission struct {
	Name     string          `json:"name,omitempty"`
	Service  string          `json:"service"`
	Spec     json.RawMessage `json:"spec,omitempty"`
	Priority int             `json:"priority,omitempty"`
	// Notify says who to tell when the job ends; nil takes the user's
	// default, an empty Notify asks for nothing.
	Notify *Notify `json:"notify,omitempty"`
	// Groups to share the job with (groups the submitter belongs to).
	Groups []string `json:"groups,omitempty"`
	// Series, if set, fits the job's model to each of several uploaded
	// data files, each fit a child of the job returned.
	Series *Series `json:"series,omitempty"`
}

// Notify is a job's notification: an email address, an https webhook
// URL (the job's JSON, signed with the user's webhook secret), or both.
type Notify struct {
	Email   string `json:"email,omitempty"`
	Webhook string `json:"webhook,omitempty"`
}

// Series asks for a fit series: Files are the names of uploaded data
// files, X where each row's x value comes from ("index", "name:REGEX"
// or "column:N"), Chain whether each fit starts from the previous best.
type Series struct {
	Files []string `json:"files"`
	X     string   `json:"x,omitempty"`
	Chain bool     `json:"chain,omitempty"`
}

// Upload is one file sent with a submission: Name is its name in the job's
// input/, Path where to read it from.
type Upload struct {
	Name, Path string
}

// Submit sends a job, with its files if any (as multipart, streamed).
func (c *Client) Submit(ctx context.Context, s Submission, files []Upload) (*Job, error) {
	var j Job
	if len(files) == 0 {
		body, err := jsonBody(s)
		if err != nil {
			return nil, err
		}
		return &j, c.do(ctx, http.MethodPost, "/api/v1/jobs", nil, "application/json", body, &j)
	}
	for _, f := range files {
		if _, err := os.Stat(f.Path); err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Path, err)
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeMultipart(mw, s, files))
	}()
	err := c.do(ctx, http.MethodPost, "/api/v1/jobs", nil, mw.FormDataContentType(), pr, &j)
	pr.Close()
	return &j, err
}

// SubmitAll sends several jobs without files in one request; the server
// accepts all of them or none (an error names the index of the job at
// fault, as in "jobs[3].spec.seconds: ..."). The jobs come back in order.
func (c *Client) SubmitAll(ctx context.Context, subs []Submission) ([]*Job, error) {
	body, err := jsonBody(subs)
	if err != nil {
		return nil, err
	}
	var js []*Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/jobs", nil, "application/json", body, &js); err != nil {
		return nil, err
	}
	return js, nil
}

func writeMultipart(mw *multipart.Writer, s Submission, files []Upload) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return err
	}
	part, err := mw.CreateFormField("job")
	if err != nil {
		return err
	}
	if _, err := part.Write(doc); err != nil {
		return err
	}
	for _, f := range files {
		name := f.Name
		if name == "" {
			name = filepath.Base(f.Path)
		}
		part, err := mw.CreateFormFile("file", name)
		if err != nil {
			return err
		}
		in, err := os.Open(f.Path)
		if err != nil {
			return err
		}
		_, err = io.Copy(part, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

// ListOptions filter a job listing.
type ListOptions struct {
	State, Service string
	Limit          int
	Before         string // cursor from the previous page's Next
	// Shared lists the jobs shared with the caller's groups instead.
	Shared bool
}

// JobList is one page of jobs.
type JobList struct {
	Jobs []*Job `json:"jobs"`
	Next string `json:"next,omitempty"`
}

// List returns one page of the caller's jobs, newest first.
func (c *Client) List(ctx context.Context, o ListOptions) (*JobList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": o.State, "service": o.Service, "before": o.Before} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Shared {
		q.Set("shared", "1")
	}
	var l JobList
	return &l, c.do(ctx, http.MethodGet, "/api/v1/jobs", q, "", nil, &l)
}

func jobPath(id int64, rest string) string { return "/api/v1/jobs/" + strconv.FormatInt(id, 10) + rest }

// Get returns one job.
func (c *Client) Get(ctx context.Context, id int64) (*Job, error) {
	var j Job
	return &j, c.do(ctx, http.MethodGet, jobPath(id, ""), nil, "", nil, &j)
}

// Results returns a finished job's results document.
func (c *Client) Results(ctx context.Context, id int64) (json.RawMessage, error) {
	var r json.RawMessage
	return r, c.do(ctx, http.MethodGet, jobPath(id, "/results"), nil, "", nil, &r)
}

// File is one listed file of a job.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// Files lists a job's input and output files.
func (c *Client) Files(ctx context.Context, id int64) ([]File, error) {
	var r struct {
		Files []File `json:"files"`
	}
	return r.Files, c.do(ctx, http.MethodGet, jobPath(id, "/files"), nil, "", nil, &r)
}

// Download opens one of a job's files; the caller closes it.
func (c *Client) Download(ctx context.Context, id int64, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(jobPath(id, "/files/"+path), nil), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Cancel asks a job to stop.
func (c *Client) Cancel(ctx context.Context, id int64) (*Job, error) {
	var j Job
	return &j, c.do(ctx, http.MethodPost, jobPath(id, "/cancel"), nil, "", nil, &j)
}

// Delete removes a job and its files.
func (c *Client) Delete(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, jobPath(id, ""), nil, "", nil, nil)
}

// Health checks that the server answers.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, "", nil, nil)
}
