package jobdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// File is one listed file of a job.
type File struct {
	Path string `json:"path"` // "input/data.txt", "output/fit.svg"
	Size int64  `json:"size"`
}

// List returns the regular files under input/ and output/. Links are not
// followed and not listed: a job cannot publish a link to something outside.
func (d Dir) List() ([]File, error) { return d.list("input", "output") }

// ListInput returns the uploaded files only.
func (d Dir) ListInput() ([]File, error) { return d.list("input") }

func (d Dir) list(tops ...string) ([]File, error) {
	var out []File
	for _, top := range tops {
		err := walkFiles(filepath.Join(string(d), top), func(rel string, info fs.FileInfo) error {
			out = append(out, File{Path: path.Join(top, filepath.ToSlash(rel)), Size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// walkFiles calls fn for each regular file under dir, with its path
// relative to dir and its Lstat info. Links and special files are skipped
// (links are not followed), and a missing dir has no files. A file that
// goes away while being walked is left out.
func walkFiles(dir string, fn func(rel string, info fs.FileInfo) error) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		return fn(rel, info)
	})
}

// ErrBadPath is returned for a path that does not name a file of the job.
var ErrBadPath = errors.New("no such file")

// Open opens a listed file for reading. The path must lie under input/ or
// output/; os.Root refuses any step (.., absolute, or a link) that would
// leave the job directory, and a link inside is refused too.
func (d Dir) Open(rel string) (*os.File, fs.FileInfo, error) {
	rel = path.Clean(strings.TrimPrefix(rel, "/"))
	if !strings.HasPrefix(rel, "input/") && !strings.HasPrefix(rel, "output/") {
		return nil, nil, ErrBadPath
	}
	root, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, nil, ErrBadPath
	}
	defer root.Close()
	info, err := root.Lstat(rel)
	if err != nil || !info.Mode().IsRegular() {
		return nil, nil, ErrBadPath
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, nil, ErrBadPath
	}
	return f, info, nil
}

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
	if strings.HasPrefix(name, "/") {
		return bad("absolute paths are not accepted (use a relative name such as data.txt)")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return bad("control characters and backslashes are not accepted")
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

// WriteFile stores r as a new file name (already cleaned) under dir,
// refusing to go through links or to replace an existing file, and failing
// once more than limit bytes have been written.
func WriteFile(dir, name string, r io.Reader, limit int64) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	if parent := path.Dir(name); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return 0, fmt.Errorf("file %q: %w", name, err)
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, fmt.Errorf("file %q: uploaded twice", name)
		}
		return 0, fmt.Errorf("file %q: %w", name, err)
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
