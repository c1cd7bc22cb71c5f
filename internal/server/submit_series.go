package server

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/jobfs"
	"github.com/bumpserve/bumpserve/internal/queue"
	"github.com/bumpserve/bumpserve/internal/series"
	"github.com/bumpserve/bumpserve/internal/store"
)

// SeriesRequest is the "series" of a job document: fit the job's model
// to each of Files (names of uploaded files), each fit a child job of
// the one returned.
type SeriesRequest struct {
	Files []string `json:"files"`
	// X is where each row's x value comes from: "index" (default),
	// "name:REGEX" or "column:N" (see series.XValues).
	X string `json:"x"`
	// Chain starts each fit from the previous one's best values.
	Chain bool `json:"chain"`
}

// submitSeries checks a series submission and queues its parent and
// children in one transaction. Every child is checked as its own job
// before anything is stored, so a native data file that does not parse
// refuses the whole series, naming the file's index; a Bumps model reads
// its data only when it runs, so there a bad file fails its own row.
func (s *Server) submitSeries(ctx context.Context, u *store.User, sub *Submission, staging string) (*job.Job, error) {
	req := sub.Series
	input := stagedInput(staging)
	switch {
	case len(req.Files) == 0:
		return nil, badRequest("series.files: empty (name at least one uploaded data file)")
	case len(req.Files) > MaxBatch:
		return nil, badRequest("series.files: %d files (at most %d)", len(req.Files), MaxBatch)
	case input == "":
		return nil, badRequest("series.files: no files were uploaded (send the data files as multipart parts named \"file\")")
	}
	if err := series.CheckService(sub.Service); err != nil {
		return nil, badRequest("%v", err)
	}
	for i, f := range req.Files {
		if slices.Index(req.Files, f) != i {
			return nil, badRequest("series.files[%d]: %q is named twice", i, f)
		}
		if st, err := jobfs.Lstat(input, f); err != nil || !st.Mode().IsRegular() {
			return nil, badRequest("series.files[%d]: %q was not uploaded", i, f)
		}
	}
	xs, err := series.XValues(req.X, req.Files, func(f string) (io.ReadCloser, error) {
		r, _, err := jobfs.Open(input, f)
		return r, err
	})
	if err != nil {
		return nil, badRequest("%v", err)
	}
	parent, err := s.parentSubmission(ctx, u, sub)
	if err != nil {
		return nil, err
	}
	shared, err := sharedFiles(input, req.Files)
	if err != nil {
		return nil, &httpError{http.StatusInternalServerError, err.Error()}
	}
	// The quota counts what the series will hold: the parent keeps every
	// upload, each child the shared files and its own.
	sizes, err := fileSizes(input, append(slices.Clone(shared), req.Files...))
	if err != nil {
		return nil, &httpError{http.StatusInternalServerError, err.Error()}
	}
	var sharedBytes int64
	for _, f := range shared {
		sharedBytes += sizes[f]
	}
	parent.DiskBytes = sharedBytes
	for _, f := range req.Files {
		parent.DiskBytes += sizes[f]
	}
	total := parent.DiskBytes
	for _, f := range req.Files {
		total += sharedBytes + sizes[f]
	}
	if err := s.admit(ctx, u, 1+len(req.Files), total); err != nil {
		return nil, err
	}
	children := make([]queue.Submission, len(req.Files))
	stagings := make([]string, len(req.Files))
	defer func() {
		for _, d := range stagings {
			if d != "" {
				s.cfg.Root.Discard(d) // gone already if its child adopted it
			}
		}
	}()
	for i, f := range req.Files {
		spec, err := series.ChildSpec(sub.Service, sub.Spec, f)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		if stagings[i], err = s.cfg.Root.StageCopy(input, append(slices.Clone(shared), f)); err != nil {
			return nil, &httpError{http.StatusInternalServerError, err.Error()}
		}
		child := &Submission{Name: childName(sub.Name, i, f), Service: sub.Service, Spec: spec, Priority: sub.Priority}
		if children[i], err = s.checkSubmission(ctx, u, child, filepath.Join(stagings[i], "input")); err != nil {
			if he, ok := err.(*httpError); ok {
				return nil, &httpError{he.code, fmt.Sprintf("series.files[%d] (%s): %s", i, f, he.msg)}
			}
			return nil, err
		}
		children[i].DiskBytes = sharedBytes + sizes[f]
	}
	var placed []int64
	place := func(i int, id int64) error {
		from := staging
		if i >= 0 {
			from = stagings[i]
		}
		err := s.cfg.Root.Adopt(from, id)
		if err == nil {
			placed = append(placed, id)
		}
		return err
	}
	p, _, err := s.cfg.Queue.SubmitSeries(ctx, queue.SeriesSubmission{
		Parent:   parent,
		Series:   &job.Series{Files: req.Files, X: req.X, XValues: xs, Chain: req.Chain},
		Children: children,
	}, place)
	if err != nil {
		for _, id := range placed {
			if rerr := s.cfg.Root.Remove(id); rerr != nil {
				s.log.Warn("remove files of a job not stored", "job", id, "err", rerr)
			}
		}
		return nil, storeError(err)
	}
	return p, nil
}

// parentSubmission is the parent as the queue takes it. Its spec is
// checked for the envelope only: a native spec names a data file the
// parent does not have, and each child's spec is checked in full. The
// parent alone carries the series' notification (sent when the whole
// series has ended) and its groups (children are seen through it).
func (s *Server) parentSubmission(ctx context.Context, u *store.User, sub *Submission) (queue.Submission, error) {
	if err := checkNamePriority(sub); err != nil {
		return queue.Submission{}, err
	}
	_, cpus, err := job.ReadEnvelope(sub.Spec, s.cfg.Caps, s.cfg.MaxCPUs)
	if err != nil {
		return queue.Submission{}, badRequest("%v", err)
	}
	targets, err := s.checkNotifyGroups(ctx, u, sub)
	if err != nil {
		return queue.Submission{}, err
	}
	one := []queue.Submission{{Owner: u.Name, Name: sub.Name, Service: sub.Service, Spec: sub.Spec, CPUs: cpus, Priority: sub.Priority,
		Notify: targets, Groups: sub.Groups}}
	if err := s.defaultNotify(ctx, u, []*Submission{sub}, one); err != nil {
		return queue.Submission{}, err
	}
	return one[0], nil
}

// fileSizes are the sizes of the named files under dir.
func fileSizes(dir string, names []string) (map[string]int64, error) {
	sizes := make(map[string]int64, len(names))
	for _, n := range names {
		st, err := jobfs.Lstat(dir, n)
		if err != nil {
			return nil, err
		}
		sizes[n] = st.Size()
	}
	return sizes, nil
}

// sharedFiles are the uploads every child gets: all but the series files.
func sharedFiles(input string, files []string) ([]string, error) {
	var shared []string
	err := jobfs.Walk(input, func(rel string, info fs.FileInfo) error {
		if info.Mode().IsRegular() && !slices.Contains(files, rel) {
			shared = append(shared, rel)
		}
		return nil
	})
	return shared, err
}

// childName names child i after the series and its file, within the 200
// bytes a name may have.
func childName(name string, i int, file string) string {
	suffix := fmt.Sprintf("[%d] %s", i, filepath.Base(file))
	if name == "" {
		return trimName(suffix)
	}
	return trimName(name + " " + suffix)
}

func trimName(s string) string {
	for len(s) > 200 {
		r := []rune(s)
		s = string(r[:len(r)-1])
	}
	return s
}
