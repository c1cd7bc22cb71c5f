package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue/lease"
)

// Finish implements lease.Source. Ends whose output fits
// api.InlineOutputMax go up together in one call, their outputs inline,
// and that call leases the next jobs; a larger output streams up in a
// call of its own, beside it, so that it holds up no other end. Local
// copies are removed once the controller has taken the end, after Finish
// returns.
func (s *RemoteSource) Finish(ctx context.Context, ends []lease.End, next lease.Want) ([]error, []*job.Job, error) {
	errs := make([]error, len(ends))
	var small []int
	var inline []api.Completion
	var wg sync.WaitGroup
	for i, e := range ends {
		c, out := s.completion(e)
		if out == "" || s.tarSmall(out, &c) {
			small, inline = append(small, i), append(inline, c)
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.finishLarge(ctx, e.Job, c, out) }()
	}
	var claimed []*job.Job
	if len(inline) > 0 {
		got, js, err := s.finishSmall(ctx, inline, next)
		claimed = js
		for k, i := range small {
			if err != nil {
				errs[i] = err // the whole call failed: each end is tried again
			} else {
				errs[i] = got[k]
			}
		}
	}
	wg.Wait()
	type ended struct {
		job  *job.Job
		gone chan struct{}
	}
	var remove []ended
	for i, e := range ends {
		if errs[i] == nil {
			s.held.Delete(e.Job.ID)
			r := ended{e.Job, make(chan struct{})}
			s.removing.Store(e.Job.ID, r.gone)
			remove = append(remove, r)
		}
	}
	if len(remove) > 0 {
		// Removed once the slots have their answer: each copy is a tree
		// to walk, and the slots' next jobs need not wait for it.
		go func() {
			for _, r := range remove {
				s.forget(s.dir(r.job))
				s.removing.CompareAndDelete(r.job.ID, r.gone)
				close(r.gone)
			}
		}()
	}
	return errs, claimed, nil
}

// completion is e's report, and the local output directory to send with
// it ("" for none).
func (s *RemoteSource) completion(e lease.End) (api.Completion, string) {
	r := e.Result
	c := api.Completion{ID: e.Job.ID, Token: e.Job.Lease.Token, State: r.State, Reason: r.Reason, Result: r.Result, Protections: r.Protections}
	out := s.dir(e.Job).Output()
	if od, err := jobfs.OpenDir(out); err != nil { // no output: a job that never ran
		return c, ""
	} else {
		od.Close()
	}
	if r.Reason == reasonDiskFull {
		return c, "" // the controller has no room for it
	}
	// Counted before sending: on a slow link, uploading more files than
	// the controller takes could outlast every try.
	if many, err := archive.TooManyFiles(out, archive.MaxOutputFiles); err == nil && many {
		refuseOutput(&c, fmt.Sprintf("more than %d files", archive.MaxOutputFiles))
		return c, ""
	}
	return c, out
}

// tarSmall puts out into c.Output as a tar stream if it fits
// api.InlineOutputMax, and says whether it did.
func (s *RemoteSource) tarSmall(out string, c *api.Completion) bool {
	var buf bytes.Buffer
	if err := archive.WriteTar(&capped{w: &buf, left: api.InlineOutputMax}, out); err != nil {
		return false // too large (or unreadable: the streaming call says why)
	}
	c.Output = buf.Bytes()
	return true
}

// capped is a writer that refuses to go past left bytes.
type capped struct {
	w    *bytes.Buffer
	left int
}

var errTooLargeInline = errors.New("larger than an inline output")

func (c *capped) Write(p []byte) (int, error) {
	if len(p) > c.left {
		return 0, errTooLargeInline
	}
	c.left -= len(p)
	return c.w.Write(p)
}

// finishSmall reports ends with inline outputs, and leases jobs for next,
// in one call. An output the controller refuses for good (too large, not
// a clean archive) makes its job fail without it, in a second call.
func (s *RemoteSource) finishSmall(ctx context.Context, cs []api.Completion, next lease.Want) ([]error, []*job.Job, error) {
	req := api.CompletionsRequest{Name: s.Name, Jobs: cs}
	if next.Jobs > 0 && next.CPUs > 0 {
		req.Next = &api.NextRequest{Name: s.Name, Free: next.CPUs, MaxJobs: next.Jobs, Services: s.Services}
	}
	resp, err := s.Client.Completions(ctx, req)
	if err != nil {
		return nil, nil, completeErr(err)
	}
	if len(resp.Jobs) != len(cs) {
		return nil, nil, fmt.Errorf("completions: %d answers for %d ends", len(resp.Jobs), len(cs))
	}
	claimed := make([]*job.Job, len(resp.Next))
	for i, c := range resp.Next {
		claimed[i] = s.adopt(c)
	}
	errs := make([]error, len(cs))
	var again []api.Completion
	var againAt []int
	for i, a := range resp.Jobs {
		errs[i] = completeErr(client.AnswerError(a))
		if why := outputRefused(errs[i]); why != "" && cs[i].Output != nil {
			s.Logger.Warn("job output refused by the controller; reporting the job failed", "job", cs[i].ID, "err", errs[i])
			c := cs[i]
			refuseOutput(&c, why)
			again, againAt = append(again, c), append(againAt, i)
		}
	}
	if len(again) > 0 {
		retried, _, err := s.finishSmall(ctx, again, lease.Want{})
		for k, i := range againAt {
			if err != nil {
				errs[i] = err
			} else {
				errs[i] = retried[k]
			}
		}
	}
	return errs, claimed, nil
}

// finishLarge reports one end whose output streams up with it, renewing
// the lease meanwhile.
func (s *RemoteSource) finishLarge(ctx context.Context, j *job.Job, c api.Completion, out string) error {
	req := api.CompleteRequest{Token: c.Token, State: c.State, Reason: c.Reason, Result: c.Result, Protections: c.Protections}
	stop := s.keepLease(ctx, j)
	_, err := s.Client.Complete(ctx, j.ID, req, out)
	stop()
	if why := outputRefused(err); why != "" {
		s.Logger.Warn("job output refused by the controller; reporting the job failed", "job", j.ID, "err", err)
		refuseOutput(&c, why)
		req.State, req.Reason, req.Result = c.State, c.Reason, c.Result
		_, err = s.Client.Complete(ctx, j.ID, req, "")
	}
	return completeErr(err)
}

// completeErr words a failed end for the pool: a full controller disk
// is diskspace.ErrFull (the pool then reports the job failed for it).
func completeErr(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusInsufficientStorage {
		return fmt.Errorf("%w (%v)", diskspace.ErrFull, err)
	}
	return err
}

// keepLease renews j's lease while its output goes up: a job can leave
// enough files that tarring and unpacking them outlasts the lease, and a
// result that arrives after it is refused and the job run again.
func (s *RemoteSource) keepLease(ctx context.Context, j *job.Job) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.HeartbeatEvery())
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.Client.Heartbeat(ctx, j.ID, api.HeartbeatRequest{Token: j.Lease.Token, Name: s.Name})
			}
		}
	}()
	return func() { cancel(); <-done }
}

// refuseOutput makes c report the job failed without its output, which
// the controller refuses for good (too many files, too large): sent again
// it would be refused until the lease ended and the job ran anew, holding
// a slot each time. The output is the job's own fault, so the job ends in
// ERROR.
func refuseOutput(c *api.Completion, why string) {
	reason := "output not accepted by the controller: " + why
	if c.State == job.Error && c.Reason != "" {
		reason = c.Reason + "; " + reason // the job's own fault first
	}
	c.State, c.Result, c.Reason, c.Output = job.Error, nil, reason, nil
}

// outputRefused says why the controller refused a job's uploaded output
// (400 "output: ...", or 413 past its size cap), or "" for any other
// failure.
func outputRefused(err error) string {
	var ce *client.Error
	switch {
	case !errors.As(err, &ce):
		return ""
	case ce.Status == http.StatusRequestEntityTooLarge:
		return "the files are too large"
	case ce.Status == http.StatusBadRequest && strings.HasPrefix(ce.Message, "output: "):
		return strings.TrimPrefix(ce.Message, "output: ")
	}
	return ""
}
