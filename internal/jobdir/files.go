package jobdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

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
// CleanName: a job may make "..\\x", "C:", or lines with escapes) are
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
		err := walkFiles(jd, top, func(rel string, info fs.FileInfo) error {
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

// walkFiles calls fn for each regular file under sub of d ("" for d)
// whose name is clean, with its slash-separated path relative to sub and
// its info; a missing sub has no files.
// Files with unclean names are logged once per walk, with their number and
// the first: a job can leave a hundred thousand of them, and every
// listing, archive and page view walks them again.
func walkFiles(d *jobfs.Dir, sub string, fn func(rel string, info fs.FileInfo) error) error {
	var left int
	var first error
	err := d.Walk(sub, func(rel string, info fs.FileInfo) error {
		if _, err := CleanName(rel); err != nil {
			if left++; first == nil {
				first = err
			}
			return nil
		}
		return fn(rel, info)
	})
	if left > 0 {
		slog.Warn("job files left out: their names are not clean", "dir", path.Join(d.Name(), sub), "files", left, "first", first)
	}
	return err
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
	if _, err := CleanName(rel); err != nil {
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

// CleanName checks an uploaded file's name and returns it in clean form:
// a relative slash-separated path with no empty, "." or ".." parts, no NUL
// or control characters, no backslashes, at most 255 bytes a part.
func CleanName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("file name %q: %s", name, why)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > 1024 {
		return bad("longer than 1024 bytes")
	}
	if strings.HasPrefix(name, "/") || driveLetter(name) {
		return bad("absolute paths are not accepted (use a relative name such as data.txt)")
	}
	if !utf8.ValidString(name) {
		// Shown as U+FFFD in JSON listings and archives, such a name
		// would not lead back to its file.
		return bad("not valid UTF-8")
	}
	for _, c := range name {
		if c == '\\' || unsafeRune(c) {
			return bad("control characters, line separators, direction overrides and backslashes are not accepted")
		}
	}
	for _, part := range strings.Split(name, "/") {
		switch {
		case part == "" || part == ".":
			return bad("empty or '.' path parts are not accepted")
		case part == "..":
			return bad("'..' is not accepted")
		case len(part) > 255:
			return bad("a path part is longer than 255 bytes")
		}
	}
	return name, nil
}

// UnsafeText says s holds a rune that would forge what a listing, a
// terminal or a log shows (see unsafeRune): for names users give.
func UnsafeText(s string) bool { return strings.ContainsFunc(s, unsafeRune) }

// unsafeRune says c would forge what a listing or a log shows: C0 and C1
// controls (newlines, escapes), line and paragraph separators, and the
// direction controls that show "gpj.exe" as "exe.jpg".
func unsafeRune(c rune) bool {
	return unicode.IsControl(c) || unicode.In(c, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// driveLetter says name starts like a Windows path ("C:"), which an
// extractor there would take as absolute.
func driveLetter(name string) bool {
	return len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z')
}

// WriteFile stores r as a new file name (already cleaned) under dir,
// refusing to go through links or to replace an existing file, and failing
// once more than limit bytes have been written.
func WriteFile(dir, name string, r io.Reader, limit int64) (int64, error) {
	d, err := jobfs.OpenDir(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	if parent := path.Dir(name); parent != "." {
		if err := d.MkdirAll(parent, 0o755); err != nil {
			return 0, err
		}
	}
	f, err := d.Create(name, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, fmt.Errorf("file %q: uploaded twice", name)
		}
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("file %q: %w", name, err)
	}
	if n > limit {
		return n, ErrTooLarge
	}
	return n, nil
}

// ErrTooLarge is returned by WriteFile past its limit.
var ErrTooLarge = errors.New("upload too large")
