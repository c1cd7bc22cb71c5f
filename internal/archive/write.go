package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

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
