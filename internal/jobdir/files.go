package jobdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/bumpserve/bumpserve/internal/archive"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// File is one listed file of a job.
type File struct {
	Path string `json:"path"` // "input/data.txt", "output/fit.svg"
	Size int64  `json:"size"`
}

// List returns the regular files under input/ and output/ (and the
// running attempt's log as output/job.log). Links are not
// followed and not listed, nor FIFOs or devices: a job cannot publish
// anything but its own regular files. Names that are not clean (see
// archive.CleanName: a job may make "..\\x", "C:", or lines with escapes) are
// left out and logged.
func (d Dir) List() ([]File, error) { return d.list("input", "output") }

// ListInput returns the uploaded files only.
func (d Dir) ListInput() ([]File, error) { return d.list("input") }

func (d Dir) list(tops ...string) ([]File, error) {
	jd, err := jobfs.OpenDir(string(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer jd.Close()
	var out []File
	for _, top := range tops {
		err := archive.WalkFiles(jd, top, func(rel string, info fs.FileInfo) error {
			out = append(out, File{Path: top + "/" + rel, Size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		if top == "output" && !slices.ContainsFunc(out, func(f File) bool { return f.Path == liveLog }) {
			if info, err := jd.Lstat(LogName); err == nil && info.Mode().IsRegular() {
				out = append(out, File{Path: liveLog, Size: info.Size()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ErrBadPath is returned for a path that does not name a file of the job.
var ErrBadPath = errors.New("no such file")

// Open opens a listed file for reading. The path must lie under input/ or
// output/, and be a regular file reached through no link (see jobfs).
func (d Dir) Open(rel string) (*os.File, fs.FileInfo, error) {
	rel = path.Clean(strings.TrimPrefix(rel, "/"))
	if !strings.HasPrefix(rel, "input/") && !strings.HasPrefix(rel, "output/") {
		return nil, nil, ErrBadPath
	}
	if _, err := archive.CleanName(rel); err != nil {
		return nil, nil, ErrBadPath
	}
	jd, err := jobfs.OpenDir(string(d))
	if err != nil {
		return nil, nil, ErrBadPath
	}
	defer jd.Close()
	f, info, err := jd.Open(rel)
	if rel == liveLog && err != nil {
		// Not published yet, or refused because of what the job left
		// under the name: the root side's own log is the one shown.
		f, info, err = jd.Open(LogName)
	}
	if err != nil {
		return nil, nil, ErrBadPath
	}
	return f, info, nil
}

// liveLog is the log's path as users see it, before and after the
// attempt ends: until then it is served from the job directory.
const liveLog = "output/" + LogName

// Size is what the job's directory holds, as the disk quota counts it:
// the lengths of its regular files (a sparse file at its full length, as
// disk_mb counts it), links and special files not at all. A missing
// directory holds nothing.
func (d Dir) Size() (int64, error) {
	var n int64
	err := jobfs.Walk(string(d), func(_ string, info fs.FileInfo) error {
		n += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of job dir: %w", err)
	}
	return n, nil
}
