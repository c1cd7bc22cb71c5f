// Package backup makes a consistent copy of a data directory while the
// server runs on it: the SQLite store first, as one snapshot (VACUUM
// INTO, which reads in one transaction and writes a compact database),
// then the files of exactly the jobs that snapshot holds. A job created
// after the snapshot is not in the copy, store or files; a job deleted
// between the two steps is in the copy's store without files (Run counts
// them); a job running at the time has its output as it was then, and
// on restore its lease runs out and it runs again, as after any crash.
// Everything is read through package jobfs (no link is followed).
package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// Counts says what a backup holds.
type Counts struct {
	Jobs, Files int
	Bytes       int64
	// NoFiles counts jobs in the snapshot whose directory was gone by the
	// time the files were copied (deleted meanwhile).
	NoFiles int
}

// topFiles are the data directory's own files a restore needs: the web
// sessions' key and the first admin's token.
var topFiles = []string{"session.key", "admin.token"}

// Run copies data into out, which must not exist yet (or be empty).
func Run(ctx context.Context, data, out string) (*Counts, error) {
	src := filepath.Join(data, "bumpserve.db")
	if _, err := jobfs.Lstat(data, "bumpserve.db"); err != nil {
		return nil, fmt.Errorf("data: no bumpserve database in %s (%w)", data, err)
	}
	if err := jobfs.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("out: %w", err)
	}
	if err := jobfs.Walk(out, func(rel string, _ fs.FileInfo) error { return fmt.Errorf("%s is not empty (it holds %s)", out, rel) }); err != nil {
		return nil, fmt.Errorf("out: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	snap := filepath.Join(out, "bumpserve.db")
	if _, err := db.ExecContext(ctx, `VACUUM INTO '`+strings.ReplaceAll(snap, "'", "''")+`'`); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", src, err)
	}
	ids, err := jobIDs(ctx, snap)
	if err != nil {
		return nil, err
	}
	c := &Counts{Jobs: len(ids)}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := copyJob(c, filepath.Join(data, "jobs", id), filepath.Join(out, "jobs", id)); err != nil {
			return nil, fmt.Errorf("job %s: %w", id, err)
		}
	}
	for _, name := range topFiles {
		b, err := jobfs.ReadFile(data, name, 1<<20)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = jobfs.WriteFile(out, name, b, 0o600)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return c, nil
}

// jobIDs lists the jobs in the snapshot.
func jobIDs(ctx context.Context, snap string) ([]string, error) {
	db, err := sql.Open("sqlite", "file:"+snap+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id FROM jobs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	return ids, rows.Err()
}

// copyJob copies one job's regular files, keeping their modes and times.
func copyJob(c *Counts, from, to string) error {
	src, err := jobfs.OpenDir(from)
	if errors.Is(err, fs.ErrNotExist) {
		c.NoFiles++
		return nil
	}
	if err != nil {
		return err
	}
	src.Close()
	if err := jobfs.MkdirAll(to, 0o700); err != nil {
		return err
	}
	dst, err := jobfs.OpenDir(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	return jobfs.Walk(from, func(rel string, info fs.FileInfo) error {
		if dir := path.Dir(rel); dir != "." {
			if err := dst.MkdirAll(dir, 0o700); err != nil {
				return err
			}
		}
		in, _, err := jobfs.Open(from, rel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed by its job since the walk saw it
		}
		if err != nil {
			return err
		}
		defer in.Close()
		outf, err := dst.Create(rel, info.Mode().Perm())
		if err != nil {
			return err
		}
		n, err := io.Copy(outf, in)
		if err == nil {
			mt := unix.NsecToTimeval(info.ModTime().UnixNano())
			err = unix.Futimes(int(outf.Fd()), []unix.Timeval{mt, mt})
		}
		if cerr := outf.Close(); err == nil {
			err = cerr
		}
		c.Files++
		c.Bytes += n
		return err
	})
}
