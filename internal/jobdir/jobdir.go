// Package jobdir lays out job directories under the data dir:
//
//	<data>/jobs/<id>/input/    uploaded files, read-only to the job
//	<data>/jobs/<id>/output/   what the current attempt wrote
//	<data>/jobs/<id>/previous/ earlier attempts' output, kept for inspection
//	<data>/jobs/<id>/tmp/      the running job's private HOME and TMPDIR
//
// Uploads are staged under <data>/tmp and moved in with one rename once the
// job's id is known; deleted jobs are renamed into <data>/trash and removed
// in the background, because bulk removal is slow and must not hold up
// requests.
package jobdir

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Root is a data directory.
type Root struct {
	dir   string
	trash chan string
	log   *slog.Logger
}

// Open prepares the layout under dir and starts the background remover.
func Open(dir string, log *slog.Logger) (*Root, error) {
	// Jobs get absolute paths (BUMPSERVE_INPUT, sandbox rules): a job
	// process does not run in the server's working directory.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	for _, sub := range []string{"jobs", "tmp", "trash"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	r := &Root{dir: dir, trash: make(chan string, 1024), log: log}
	go r.remover()
	// Whatever a crash left in trash or staging is garbage.
	for _, sub := range []string{"trash", "tmp"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			r.discard(filepath.Join(dir, sub, e.Name()))
		}
	}
	return r, nil
}

// Job is the directory of job id.
func (r *Root) Job(id int64) Dir { return Dir(filepath.Join(r.dir, "jobs", strconv.FormatInt(id, 10))) }

// Stage makes a fresh staging directory for an upload, with an input/ inside.
func (r *Root) Stage() (string, error) {
	d, err := os.MkdirTemp(filepath.Join(r.dir, "tmp"), "upload-")
	if err != nil {
		return "", fmt.Errorf("stage upload: %w", err)
	}
	if err := os.Mkdir(filepath.Join(d, "input"), 0o755); err != nil {
		return "", fmt.Errorf("stage upload: %w", err)
	}
	return d, nil
}

// Adopt moves a staging directory into place as job id's directory. Ids are
// never reused once committed, so a directory already there is the orphan
// of a transaction that did not commit, and is replaced.
func (r *Root) Adopt(staging string, id int64) error {
	dst := string(r.Job(id))
	if _, err := os.Lstat(dst); err == nil {
		if err := r.Remove(id); err != nil {
			return err
		}
	}
	if err := os.Rename(staging, dst); err != nil {
		return fmt.Errorf("adopt job dir: %w", err)
	}
	return nil
}

// Remove takes job id's directory away at once (a rename) and deletes its
// contents in the background.
func (r *Root) Remove(id int64) error {
	src := string(r.Job(id))
	dst := filepath.Join(r.dir, "trash", fmt.Sprintf("%d-%d", id, time.Now().UnixNano()))
	if err := os.Rename(src, dst); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("remove job dir: %w", err)
	}
	r.discard(dst)
	return nil
}

// Discard deletes a path (a staging dir) in the background.
func (r *Root) Discard(path string) { r.discard(path) }

func (r *Root) discard(path string) {
	select {
	case r.trash <- path:
	default:
		go os.RemoveAll(path) // the remover is behind; don't block a request
	}
}

func (r *Root) remover() {
	for p := range r.trash {
		if err := os.RemoveAll(p); err != nil && r.log != nil {
			r.log.Warn("remove", "path", p, "err", err)
		}
	}
}

// Dir is one job's directory.
type Dir string

// Input is the uploaded files' directory.
func (d Dir) Input() string { return filepath.Join(string(d), "input") }

// Output is the current attempt's output directory.
func (d Dir) Output() string { return filepath.Join(string(d), "output") }

// Temp is the running job's private temporary directory.
func (d Dir) Temp() string { return filepath.Join(string(d), "tmp") }

// Prepare readies the directory for a new attempt: an earlier attempt's
// output is moved aside under previous/, so each attempt starts from an
// empty output/. The temporary directory is cleared but created only when
// a job starts a process (service.Env.Command): most jobs never need one, and
// directory operations are what limits throughput.
func (d Dir) Prepare(attempt int) error {
	if ents, err := os.ReadDir(d.Output()); err == nil && len(ents) > 0 {
		prev := filepath.Join(string(d), "previous")
		if err := os.MkdirAll(prev, 0o755); err != nil {
			return fmt.Errorf("prepare job dir: %w", err)
		}
		aside := filepath.Join(prev, fmt.Sprintf("attempt-%d-%d", attempt-1, time.Now().UnixNano()))
		if err := os.Rename(d.Output(), aside); err != nil {
			return fmt.Errorf("prepare job dir: %w", err)
		}
	}
	os.RemoveAll(d.Temp())
	if err := os.MkdirAll(d.Output(), 0o755); err != nil {
		return fmt.Errorf("prepare job dir: %w", err)
	}
	return nil
}
