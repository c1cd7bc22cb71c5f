package jobfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The functions below open dir (a directory the root side made), do one
// thing beneath it and close it again: for callers that touch one file.

// ReadFile reads rel under dir, at most max bytes (see Dir.ReadFile).
func ReadFile(dir, rel string, max int64) ([]byte, error) {
	d, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadFile(rel, max)
}

// Tail reads the last max bytes of rel under dir (see Dir.Tail).
func Tail(dir, rel string, max int64) ([]byte, bool, error) {
	d, err := OpenDir(dir)
	if err != nil {
		return nil, false, err
	}
	defer d.Close()
	return d.Tail(rel, max)
}

// WriteFile creates rel under dir, O_EXCL|O_NOFOLLOW (see Dir.Create).
func WriteFile(dir, rel string, data []byte, perm os.FileMode) error {
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.WriteFile(rel, data, perm)
}

// Walk calls fn for each regular file under dir (see Dir.Walk); a missing
// dir has none.
func Walk(dir string, fn func(rel string, info fs.FileInfo) error) error {
	return ifExists(dir, func(d *Dir) error { return d.Walk("", fn) })
}

// RemoveAll removes rel under dir, following no link (see Dir.RemoveAll);
// a missing dir or rel is no error.
func RemoveAll(dir, rel string) error {
	return ifExists(dir, func(d *Dir) error { return d.RemoveAll(rel) })
}

// ifExists calls fn with dir opened, unless there is no dir.
func ifExists(dir string, fn func(*Dir) error) error {
	d, err := OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}

// MkdirAll makes the directory path; its parent is trusted (see OpenDir),
// and path itself, if it exists, must be a real directory.
func MkdirAll(path string, perm os.FileMode) error {
	path = filepath.Clean(path)
	if err := os.MkdirAll(filepath.Dir(path), perm); err != nil {
		return err
	}
	d, err := OpenDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.MkdirAll(filepath.Base(path), perm)
}

// RemoveTree removes the directory path and everything in it, following
// no link below it (the path itself is trusted, as in OpenDir).
func RemoveTree(path string) error {
	path = filepath.Clean(path)
	return RemoveAll(filepath.Dir(path), filepath.Base(path))
}

// Lstat describes rel under dir, not following a link (see Dir.Lstat).
func Lstat(dir, rel string) (fs.FileInfo, error) {
	d, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Lstat(rel)
}

// Open opens the regular file rel under dir for reading (see Dir.Open).
func Open(dir, rel string) (*os.File, fs.FileInfo, error) {
	d, err := OpenDir(dir)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	return d.Open(rel)
}

// maxRecord bounds a JSON record (a held job with its spec, an exit
// record with its results).
const maxRecord = 64 << 20

// WriteJSON writes v as the record path, atomically (see Dir.Replace).
func WriteJSON(path string, v any, perm os.FileMode) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return Replace(filepath.Dir(path), filepath.Base(path), append(b, '\n'), perm)
}

// Replace writes data to rel under dir atomically (see Dir.Replace).
func Replace(dir, rel string, data []byte, perm os.FileMode) error {
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Replace(rel, data, perm)
}

// ReplaceDurable writes data to rel under dir atomically and durably (see
// Dir.ReplaceDurable).
func ReplaceDurable(dir, rel string, data []byte, perm os.FileMode) error {
	d, err := OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.ReplaceDurable(rel, data, perm)
}

// ReadJSON reads the record path into v; a missing one wraps
// fs.ErrNotExist.
func ReadJSON(path string, v any) error {
	b, err := ReadFile(filepath.Dir(path), filepath.Base(path), maxRecord)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return nil
}
