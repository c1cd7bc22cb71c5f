package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/diskspace"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobdir"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/service"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// Submission is the job document of POST /api/v1/jobs.
type Submission struct {
	Name     string          `json:"name"`
	Service  string          `json:"service"`
	Spec     json.RawMessage `json:"spec"`
	Priority int             `json:"priority"`
	// Notify says who to tell when the job ends; absent, the user's
	// default applies; {} asks for nothing.
	Notify *job.Notify `json:"notify,omitempty"`
	// Groups to share the job with, read-only, from the start: groups
	// the owner belongs to (see groups.go).
	Groups []string `json:"groups,omitempty"`
	// Series, if set, makes this a fit series (see submitSeries).
	Series *SeriesRequest `json:"series,omitempty"`
	// capability is set for anonymous submissions (never from JSON).
	capability []byte
}

// maxFiles bounds the number of uploaded files per job.
const maxFiles = 1000

// httpError carries a status code to the handler that reports it.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// submit takes a job as JSON, or as multipart with a "job" part and one
// "file" part per uploaded file, or a JSON array of jobs (see
// submitBatch). Files are streamed into a staging directory and moved
// into the job's directory before the transaction that creates the job
// (see queue.SubmitAll), so a 201 means job and files are both stored.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, u *store.User) {
	if ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ctype != "multipart/form-data" {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxJSON))
		if err != nil {
			s.replyError(w, err)
			return
		}
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			s.submitBatch(w, r, u, body)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	j, err := s.receive(r, u, nil)
	if err != nil {
		s.replyError(w, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", j.ID))
	writeJSON(w, http.StatusCreated, j)
}

// receive reads a submission and queues it for u; adjust, if set, may
// amend it first. Without files there is no staging directory, and the
// job's directory is made when it first runs.
func (s *Server) receive(r *http.Request, u *store.User, adjust func(*Submission)) (*job.Job, error) {
	if err := s.checkDisk(); err != nil {
		return nil, err // before an upload is written to the full disk
	}
	staging, input := "", ""
	if ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ctype == "multipart/form-data" {
		var err error
		if staging, err = s.cfg.Root.Stage(); err != nil {
			return nil, &httpError{http.StatusInternalServerError, err.Error()}
		}
		defer s.cfg.Root.Discard(staging) // gone already if the job adopted it
		input = filepath.Join(staging, "input")
	}
	sub, err := s.readSubmission(r, input)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(sub)
	}
	return s.SubmitJob(r.Context(), u, sub, staging)
}

// SubmitError is a refused submission: Code is the HTTP status, Error
// names the field and what is accepted.
type SubmitError = httpError

// SubmitJob checks a submission for u against the services, the limits
// and u's quotas, and queues it. staging, if not "", is a directory from
// Root.Stage whose input/ holds the uploaded files; it becomes the job's
// directory. Errors are *SubmitError for anything the caller got wrong.
func (s *Server) SubmitJob(ctx context.Context, u *store.User, sub *Submission, staging string) (*job.Job, error) {
	if sub.Series != nil {
		if sub.capability != nil {
			return nil, badRequest("series: not accepted from anonymous submitters")
		}
		return s.submitSeries(ctx, u, sub, staging)
	}
	var uploaded int64
	if staging != "" {
		var err error
		if uploaded, err = jobdir.Dir(staging).Size(); err != nil {
			return nil, &httpError{http.StatusInternalServerError, err.Error()}
		}
	}
	if err := s.admit(ctx, u, 1, uploaded); err != nil {
		return nil, err
	}
	qs, err := s.checkSubmission(ctx, u, sub, stagedInput(staging))
	if err != nil {
		return nil, err
	}
	qs.DiskBytes = uploaded
	one := []queue.Submission{qs}
	if err := s.defaultNotify(ctx, u, []*Submission{sub}, one); err != nil {
		return nil, err
	}
	qs = one[0]
	var place func(int64) error
	var placed int64
	if staging != "" {
		place = func(id int64) error {
			err := s.cfg.Root.Adopt(staging, id)
			if err == nil {
				placed = id
			}
			return err
		}
	}
	j, err := s.cfg.Queue.Submit(ctx, qs, place)
	if err != nil && placed != 0 {
		// Its id is never given again; take the files back out.
		if rerr := s.cfg.Root.Remove(placed); rerr != nil {
			s.log.Warn("remove files of a job not stored", "job", placed, "err", rerr)
		}
	}
	if err != nil {
		return nil, storeError(err)
	}
	return j, nil
}

// admit is what a request must pass before its n jobs are checked: room
// on the disk, the user's submission rate (a request counts once, however
// many jobs it carries), the user's queue quota and disk quota (with
// uploaded bytes of files).
func (s *Server) admit(ctx context.Context, u *store.User, n int, uploaded int64) error {
	if err := s.checkDisk(); err != nil {
		return err
	}
	if err := s.withinRate(ctx, s.limiter, u.Name); err != nil {
		return err
	}
	queued, err := s.cfg.Store.CountQueued(ctx, u.Name)
	if err != nil {
		return storeFailed(err.Error(), err)
	}
	if queued+n > s.cfg.MaxQueued {
		return &httpError{http.StatusTooManyRequests, fmt.Sprintf("quota: %d jobs already queued (at most %d)", queued, s.cfg.MaxQueued)}
	}
	return s.checkDiskQuota(ctx, u.Name, uploaded)
}

// storeError is the answer to a failure to store a checked submission.
func storeError(err error) error {
	if diskspace.IsFull(err) {
		return diskFull()
	}
	return storeFailed(fmt.Sprintf("store job: %v", err), err)
}

// checkDisk refuses new work while the data disk is full.
func (s *Server) checkDisk() error {
	if s.cfg.Disk != nil && s.cfg.Disk.Low() {
		return diskFull()
	}
	return nil
}

func diskFull() error { return &httpError{http.StatusInsufficientStorage, diskspace.ErrFull.Error()} }

// replyError reports an error from reading or checking a request.
func (s *Server) replyError(w http.ResponseWriter, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) && mbe.Limit == s.cfg.MaxUpload, errors.Is(err, archive.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "%s", UploadTooLarge(s.cfg.MaxUpload))
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", mbe.Limit)
	case diskspace.IsFull(err):
		writeError(w, http.StatusInsufficientStorage, "%v", diskspace.ErrFull)
	case errors.Is(err, ErrSlowBody):
		writeError(w, http.StatusRequestTimeout, "%v", err)
	case errors.As(err, &he):
		writeError(w, he.code, "%s", he.msg)
	default:
		writeError(w, http.StatusBadRequest, "%v", err)
	}
}

func (s *Server) readSubmission(r *http.Request, input string) (*Submission, error) {
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "multipart/form-data" {
		return s.readMultipart(multipart.NewReader(http.MaxBytesReader(nil, r.Body, s.cfg.MaxUpload), params["boundary"]), input)
	}
	// Anything else is read as JSON: curl -d sends a form content type
	// by default, and the body tells us more than the header.
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxJSON))
	if err != nil {
		return nil, err
	}
	return decodeSubmission(body)
}

func (s *Server) readMultipart(mr *multipart.Reader, input string) (*Submission, error) {
	var sub *Submission
	budget := s.cfg.MaxUpload
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrSlowBody) {
			return nil, err
		}
		if err != nil {
			return nil, badRequest("multipart: %v", err)
		}
		switch part.FormName() {
		case "job":
			if sub != nil {
				return nil, badRequest("multipart: more than one part named \"job\"")
			}
			body, err := io.ReadAll(io.LimitReader(part, s.cfg.MaxJSON+1))
			if err != nil {
				return nil, err
			}
			if int64(len(body)) > s.cfg.MaxJSON {
				return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("part \"job\" exceeds %d bytes", s.cfg.MaxJSON)}
			}
			if sub, err = decodeSubmission(body); err != nil {
				return nil, err
			}
		case "file":
			if files++; files > maxFiles {
				return nil, badRequest("file: more than %d files", maxFiles)
			}
			name, err := archive.CleanName(rawFileName(part))
			if err != nil {
				return nil, badRequest("file: %v", err)
			}
			n, err := archive.WriteFile(input, name, part, budget)
			if err != nil {
				return nil, err
			}
			budget -= n
		default:
			return nil, badRequest("multipart: unknown part %q (accepted: job, file)", part.FormName())
		}
	}
	if sub == nil {
		return nil, badRequest("multipart: no part named \"job\" holding the job document")
	}
	return sub, nil
}

// rawFileName is the file name as the client sent it. Part.FileName
// strips directories, which would both lose sub-folders and hide a
// traversal attempt that the caller should hear about.
func rawFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

// decodeSubmission reads the job document; an unknown field is refused
// with its path ("job.bogus: unknown field (accepted: name, ...)").
func decodeSubmission(body []byte) (*Submission, error) {
	var sub Submission
	if err := strictjson.Decode(body, "job", &sub); err != nil {
		return nil, badRequest("%v", err)
	}
	return &sub, nil
}

// stagedInput is the directory of a staging directory's uploads, or ""
// when nothing was uploaded.
func stagedInput(staging string) string {
	if staging == "" {
		return ""
	}
	if st, err := jobfs.Lstat(staging, "input"); err != nil || !st.IsDir() {
		return ""
	}
	return filepath.Join(staging, "input")
}

// checkSubmission checks sub and its uploads in input ("" for none), and
// returns it as the queue takes it.
func (s *Server) checkSubmission(ctx context.Context, u *store.User, sub *Submission, input string) (queue.Submission, error) {
	if sub.Service == "" {
		return queue.Submission{}, badRequest("service: missing (accepted: %s)", strings.Join(s.cfg.Services.Names(), ", "))
	}
	svc, err := s.cfg.Services.Lookup(sub.Service)
	if err != nil && !s.oldOnly[sub.Service] {
		return queue.Submission{}, badRequest("%v", err)
	}
	if err := checkNamePriority(sub); err != nil {
		return queue.Submission{}, err
	}
	if len(sub.Spec) == 0 || string(sub.Spec) == "null" {
		sub.Spec = json.RawMessage("{}")
	}
	// A service only old workers run has no check here: they check what
	// they get.
	if svc != nil {
		if err := svc.Check(sub.Spec, input); err != nil {
			return queue.Submission{}, badRequest("%v", err)
		}
	}
	_, cpus, err := job.ReadEnvelope(sub.Spec, s.cfg.Caps, s.cfg.MaxCPUs)
	if err != nil {
		return queue.Submission{}, badRequest("%v", err)
	}
	targets, err := s.checkNotifyGroups(ctx, u, sub)
	if err != nil {
		return queue.Submission{}, err
	}
	if n := job.Tasks(sub.Spec); n > 1 && svc != nil && !service.RunsTasks(svc) {
		return queue.Submission{}, badRequest("spec.resources.tasks: %d is not accepted for %s jobs, which run as one process "+
			"(accepted: 1; only bumps jobs run several tasks, as MPI ranks; give a %s job more CPUs with resources.cpus)", n, sub.Service, sub.Service)
	}
	return queue.Submission{
		Owner: u.Name, Name: sub.Name, Service: sub.Service, Spec: sub.Spec, CPUs: cpus, Priority: sub.Priority,
		Capability: sub.capability, Notify: targets, Groups: sub.Groups,
	}, nil
}

// checkNotifyGroups checks what a submission asks beyond the job itself:
// whom to notify (returned as targets) and the groups to share it with,
// which must be the owner's.
func (s *Server) checkNotifyGroups(ctx context.Context, u *store.User, sub *Submission) ([]job.Target, error) {
	var targets []job.Target
	if sub.Notify != nil {
		if err := s.checkNotify("notify", *sub.Notify); err != nil {
			return nil, err
		}
		targets = sub.Notify.Targets()
	}
	if err := s.checkOwnGroups(ctx, u.Name, sub.Groups); err != nil {
		return nil, err
	}
	return targets, nil
}

// checkNamePriority checks the fields every job document has whatever
// its service.
func checkNamePriority(sub *Submission) error {
	if len(sub.Name) > 200 || !utf8.ValidString(sub.Name) {
		return badRequest("name: must be valid UTF-8 of at most 200 bytes")
	}
	if archive.UnsafeText(sub.Name) {
		// Shown in every listing, the admin's terminal included.
		return badRequest("name: control characters, line separators and direction overrides are not accepted")
	}
	if sub.Priority < -100 || sub.Priority > 100 {
		return badRequest("priority: %d is not between -100 and 100", sub.Priority)
	}
	return nil
}

// UploadTooLarge says that a submission's uploads passed limit bytes,
// naming the flag that sets it.
func UploadTooLarge(limit int64) string {
	return fmt.Sprintf("upload too large: a submission's files may total at most %d MB (the server's serve --max-upload-mb)", limit>>20)
}

// Code is the HTTP status a refused submission deserves (400, 413, 429...).
func (e *httpError) Code() int { return e.code }
