package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ReadFrom opens one of a job's files from byte offset on, with an HTTP
// Range request, so that following a growing file (a running job's log)
// fetches only what is new. It returns the new bytes (possibly none) and
// the file's whole size, which is below offset when the file started
// again (a new attempt's log). A server that ignores the range is
// handled too: the bytes before offset are skipped here.
func (c *Client) ReadFrom(ctx context.Context, id int64, path string, offset int64) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(jobPath(id, "/files/"+path), nil), nil)
	if err != nil {
		return nil, 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0 {
		// Nothing past offset; the refusal says how long the file is.
		resp.Body.Close()
		size, ok := rangeTotal(resp.Header.Get("Content-Range"))
		if !ok {
			return nil, 0, fmt.Errorf("file %s: bad Content-Range %q", path, resp.Header.Get("Content-Range"))
		}
		return io.NopCloser(strings.NewReader("")), size, nil
	}
	if resp.StatusCode >= 400 {
		return nil, 0, errorFrom(resp)
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		size, ok := rangeTotal(resp.Header.Get("Content-Range"))
		if !ok {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("file %s: bad Content-Range %q", path, resp.Header.Get("Content-Range"))
		}
		return resp.Body, size, nil
	default: // the whole file
		size := resp.ContentLength
		if offset > 0 {
			n, err := io.CopyN(io.Discard, resp.Body, offset)
			if err != nil && err != io.EOF {
				resp.Body.Close()
				return nil, 0, err
			}
			if size < 0 {
				size = n // unknown length: at least what was skipped
			}
		}
		return resp.Body, size, nil
	}
}

// rangeTotal reads the complete length from "bytes 0-9/10" or "bytes */10".
func rangeTotal(h string) (int64, bool) {
	_, total, ok := strings.Cut(h, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil && n >= 0
}
