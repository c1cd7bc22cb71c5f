// Package jobdir lays out job directories under the data dir:
//
//	<data>/jobs/<id>/input/    uploaded files, read-only to the job
//	<data>/jobs/<id>/output/   what the current attempt wrote
//	<data>/jobs/<id>/previous/ earlier attempts' output, kept for inspection
//	<data>/jobs/<id>/tmp/      the running job's private HOME and TMPDIR
//	<data>/jobs/<id>/job.log   the running attempt's log, moved to output/
//	                           once the job's processes are all dead
//
// The job directory itself belongs to root and no job process can write
// it; output/ and tmp/ are the job's while it runs. Everything inside a
// job directory is reached through package jobfs.
//
// Uploads are staged under <data>/tmp and moved in with one rename once the
// job's id is known; deleted jobs are renamed into <data>/trash and removed
// in the background, because bulk removal is slow and must not hold up
// requests.
package jobdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bumpserve/bumpserve/internal/jobfs"
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

// JobIDs lists the ids that have a job directory (for a sweep of those
// that no job has: see server.SweepOrphans).
func (r *Root) JobIDs() ([]int64, error) {
	ents, err := os.ReadDir(filepath.Join(r.dir, "jobs"))
	if err != nil {
		return nil, fmt.Errorf("list job dirs: %w", err)
	}
	var ids []int64
	for _, e := range ents {
		if id, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

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
		go jobfs.RemoveTree(path) // the remover is behind; don't block a request
	}
}

func (r *Root) remover() {
	for p := range r.trash {
		if err := jobfs.RemoveTree(p); err != nil && r.log != nil {
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

// LogName is the job log's name, in the job directory while the attempt
// runs and in output/ once it has ended.
const LogName = "job.log"

// OpenLog opens the running attempt's log for appending. It lives in the
// job directory, which the job cannot write, so nothing of the job's can
// change it (see PublishLog).
func (d Dir) OpenLog() (*os.File, error) {
	jd, err := jobfs.OpenDir(string(d))
	if err != nil {
		return nil, err
	}
	defer jd.Close()
	return jd.OpenAppend(LogName, 0o644)
}

// PublishLog moves the ended attempt's log to output/job.log. Call it once
// the job's processes are all dead: a name the job took in output/ is
// refused (fs.ErrExist), never replaced or written through.
func (d Dir) PublishLog() error {
	jd, err := jobfs.OpenDir(string(d))
	if err != nil {
		return err
	}
	defer jd.Close()
	return jd.RenameNoReplace(LogName, "output/"+LogName)
}

// LogTail reads the end of the job's log: output/job.log once the attempt
// ended, else the running attempt's.
func (d Dir) LogTail(max int64) (text []byte, cut bool, err error) {
	text, cut, err = jobfs.Tail(d.Output(), LogName, max)
	if errors.Is(err, fs.ErrNotExist) {
		return jobfs.Tail(string(d), LogName, max)
	}
	return text, cut, err
}

// Prepare readies the directory for a new attempt: an earlier attempt's
// output (and the log of one that did not end) is moved aside under
// previous/, so each attempt starts from an empty output/. The temporary
// directory is cleared but created only when a job starts a process
// (service.Env.Command): most jobs never need one, and directory
// operations are what limits throughput.
func (d Dir) Prepare(attempt int) error {
	// Most jobs upload nothing and run once: their directory does not
	// exist yet, and making it with an empty output/ is all there is to
	// do (two mkdirs instead of a dozen lookups). Nothing of a job's can
	// be in a directory made just now, in <data>/jobs, which no job writes.
	if err := os.Mkdir(string(d), 0o755); err == nil {
		if err := os.Mkdir(d.Output(), 0o755); err != nil {
			return fmt.Errorf("prepare job dir: %w", err)
		}
		return nil
	}
	if err := jobfs.MkdirAll(string(d), 0o755); err != nil { // a job without uploads has none yet
		return fmt.Errorf("prepare job dir: %w", err)
	}
	jd, err := jobfs.OpenDir(string(d))
	if err != nil {
		return fmt.Errorf("prepare job dir: %w", err)
	}
	defer jd.Close()
	ents, _ := jd.Names("output")
	_, lerr := jd.Lstat(LogName)
	if len(ents) > 0 || lerr == nil {
		aside := fmt.Sprintf("previous/attempt-%d-%d", attempt-1, time.Now().UnixNano())
		if err := jd.MkdirAll("previous", 0o755); err != nil {
			return fmt.Errorf("prepare job dir: %w", err)
		}
		if len(ents) > 0 {
			err = jd.Rename("output", aside)
		} else {
			err = jd.MkdirAll(aside, 0o755)
		}
		if err == nil && lerr == nil {
			err = jd.Rename(LogName, aside+"/"+LogName+".unfinished")
		}
		if err != nil {
			return fmt.Errorf("prepare job dir: %w", err)
		}
	}
	if err := jd.RemoveAll("tmp"); err != nil {
		return fmt.Errorf("prepare job dir: %w", err)
	}
	if err := jd.MkdirAll("output", 0o755); err != nil {
		return fmt.Errorf("prepare job dir: %w", err)
	}
	return nil
}

// StageCopy makes a fresh staging directory whose input/ holds copies of
// the files names (paths relative to from, itself a staging input/), for
// one job of several made from one upload (a fit series' children).
func (r *Root) StageCopy(from string, names []string) (string, error) {
	d, err := r.Stage()
	if err != nil {
		return "", err
	}
	for _, name := range names {
		if err := copyIn(from, filepath.Join(d, "input"), name); err != nil {
			r.discard(d)
			return "", fmt.Errorf("stage copy of %s: %w", name, err)
		}
	}
	return d, nil
}

func copyIn(from, to, name string) error {
	src, _, err := jobfs.Open(from, name)
	if err != nil {
		return err
	}
	defer src.Close()
	if dir := filepath.Dir(name); dir != "." {
		if err := jobfs.MkdirAll(filepath.Join(to, dir), 0o755); err != nil {
			return err
		}
	}
	dst, err := jobfs.OpenDir(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	f, err := dst.Create(name, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
