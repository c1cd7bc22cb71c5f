// Package archive holds what crosses between the controller and its
// workers, and between them and users' machines: the rule for a clean file
// name, bounded writes of new files, and tar streams of a directory's
// regular files. Both sides use it, so neither reaches into the other's
// packages (the client never imports the server's job directories).
package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// MaxOutputFiles is how many files a job's output may hold when a worker
// sends it to the controller; ExtractTar refuses more.
const MaxOutputFiles = 100000

// errTooMany stops a count once it has passed its bound.
var errTooMany = errors.New("too many files")

// TooManyFiles says whether dir holds more than max files WriteTar would
// send, walking no further than that: a worker asks before it uploads an
// output the controller would refuse only after reading it all.
func TooManyFiles(dir string, max int) (bool, error) {
	d, err := jobfs.OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer d.Close()
	n := 0
	err = WalkFiles(d, "", func(string, fs.FileInfo) error {
		if n++; n > max {
			return errTooMany
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		return true, nil
	}
	return false, err
}

// WriteTar streams the regular files under dir as a tar archive with
// clean relative names and their modification times. Links, special files
// and unclean names are left out, as in List.
func WriteTar(w io.Writer, dir string) error {
	d, err := jobfs.OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return tar.NewWriter(w).Close()
	}
	if err != nil {
		return err
	}
	defer d.Close()
	tw := tar.NewWriter(w)
	err = WalkFiles(d, "", func(rel string, info fs.FileInfo) error {
		f, info, err := d.Open(rel)
		if err != nil { // replaced since it was listed
			slog.Warn("archive: job file left out", "err", err)
			return nil
		}
		defer f.Close()
		hdr := &tar.Header{Name: rel, Mode: 0o644, Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		// Copy exactly the size announced: a file still growing must not
		// corrupt the archive.
		_, err = io.CopyN(tw, f, info.Size())
		return err
	})
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return tw.Close()
}

// ExtractTar unpacks a tar stream into dir, accepting only regular files
// and directories with clean relative names (see CleanName), at most
// maxFiles files and limit bytes in all. It never writes outside dir.
func ExtractTar(r io.Reader, dir string, limit int64, maxFiles int) error {
	if err := jobfs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	files := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		name, err := CleanName(hdr.Name)
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue // directories come with their files
		case tar.TypeReg:
		default:
			return fmt.Errorf("archive: %q is not a regular file (links and devices are refused)", hdr.Name)
		}
		if files++; files > maxFiles {
			return fmt.Errorf("archive: more than %d files", maxFiles)
		}
		if hdr.Size > limit {
			return ErrTooLarge
		}
		n, err := WriteFile(dir, name, tr, limit)
		if err != nil {
			return err
		}
		limit -= n
	}
}

// WalkFiles calls fn for each regular file under sub of d ("" for d)
// whose name is clean, with its slash-separated path relative to sub and
// its info; a missing sub has no files.
// Files with unclean names are logged once per walk, with their number and
// the first: a job can leave a hundred thousand of them, and every
// listing, archive and page view walks them again.
func WalkFiles(d *jobfs.Dir, sub string, fn func(rel string, info fs.FileInfo) error) error {
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
