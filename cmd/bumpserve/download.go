package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/archive"
)

const downloadUsage = `download [flags] ID DIR

Downloads all of a job's files (input/ and output/) into DIR, creating it
if needed: DIR/input/data.txt, DIR/output/results.json, ... Names from the
server are checked before anything is written: only clean relative names,
never a path out of DIR, never through a link. An existing file is not
overwritten (download into a new or empty directory).`

func runDownload(ctx context.Context, args []string) error {
	fs := newFlags("download", downloadUsage)
	var cf clientFlags
	cf.register(fs)
	quiet := fs.Bool("quiet", false, "do not list the files written")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("download: expected ID DIR, got %d arguments", len(pos))
	}
	id, err := parseID(pos[:1], "download")
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	files, err := cl.Files(ctx, id)
	if err != nil {
		return err
	}
	// Check every name first, so a bad list writes nothing.
	for _, f := range files {
		if _, err := archive.CleanName(f.Path); err != nil {
			return fmt.Errorf("job %d: server listed a file that cannot be written safely: %w", id, err)
		}
	}
	dir := pos[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("download: %v", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return usagef("download: %v", err)
	}
	defer root.Close()
	var total int64
	for _, f := range files {
		n, err := downloadOne(ctx, cl, root, id, f)
		if err != nil {
			return err
		}
		total += n
		if !*quiet {
			fmt.Printf("%10d  %s\n", n, path.Join(dir, f.Path))
		}
	}
	fmt.Fprintf(os.Stderr, "job %d: %d files, %d bytes in %s\n", id, len(files), total, dir)
	return nil
}

// downloadOne writes one file through root, which refuses any step out
// of the directory; O_EXCL refuses an existing file or a link in its place.
func downloadOne(ctx context.Context, cl *client.Client, root *os.Root, id int64, f client.File) (int64, error) {
	if parent := path.Dir(f.Path); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return 0, fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	out, err := root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("%s: already exists (download into a new or empty directory)", f.Path)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	body, err := cl.Download(ctx, id, f.Path)
	if err != nil {
		out.Close()
		return 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	defer body.Close()
	n, err := io.Copy(out, body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("%s: %w", f.Path, err)
	}
	return n, nil
}
