package service

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// Bumps 0.9 checkpoints only its DREAM fitter: with --checkpoint=HOURS a
// monitor saves the sampler's state (chains, thinned points, crossover
// statistics) every so often into the store, as the three files below,
// and --resume=DIR loads them back and samples on to the planned total.
// A requeued attempt's store has been moved to previous/attempt-N-<ns>/
// (jobdir.Prepare), outside the sandbox: the newest whole state there is
// copied into the job's temp dir and given to bumps as --resume.
//
// What bumps does not do: it reseeds numpy from --seed when it resumes,
// so the rest of the chains is drawn from another stream than in a run
// never interrupted (the result is statistically equivalent, not the
// same); and it writes the files in place, one after the other, so a
// process killed while saving may leave one cut short (refused here: the
// fit starts afresh) or, rarely, files of two successive checkpoints.
var bumpsStateFiles = []string{"-chain.mc.gz", "-point.mc.gz", "-stats.mc.gz"}

const (
	// bumpsCheckpointDefault is the interval when the spec gives none.
	bumpsCheckpointDefault = 60.0
	// maxBumpsState bounds one state file read back, compressed and not.
	maxBumpsState = 1 << 30
	// resumeDir is where, in the job's temp dir, bumps finds the state.
	resumeDir = "resume"
)

// stateArgs are the checkpoint and resume options a bumps DREAM run gets
// (none for other fitters), with the resumed state put in place.
func (r *bumpsRun) stateArgs() ([]string, error) {
	if r.fitter != "dream" {
		return nil, nil
	}
	secs := bumpsCheckpointDefault
	if v, ok := r.opts["checkpoint_seconds"]; ok {
		secs, _ = strconv.ParseFloat(v, 64)
	}
	args := []string{"--checkpoint=" + strconv.FormatFloat(secs/3600, 'g', -1, 64)}
	state, from, gen, why := r.previousState()
	if why != "" {
		fmt.Fprintf(r.env.Log, "checkpoint not used, starting afresh: %s\n", why)
	}
	if state == nil {
		return args, nil
	}
	if err := r.env.MkdirTemp(resumeDir); err != nil {
		return nil, err
	}
	for i, suffix := range bumpsStateFiles {
		rel := resumeDir + "/" + modelName(r.model) + suffix
		// No job process runs now; whatever has the name goes, and the
		// file is made anew (O_EXCL), never written through a link.
		err := jobfs.RemoveAll(r.env.Temp, rel)
		if err == nil {
			err = jobfs.WriteFile(r.env.Temp, rel, state[i], 0o644) // the executor's: readable, not writable, by the job
		}
		if err != nil {
			return nil, fmt.Errorf("bumps: put the saved state in place: %w", err)
		}
	}
	fmt.Fprintf(r.env.Log, "resumed from checkpoint at step %d (bumps' DREAM state saved in %s; bumps reseeds on resume, so the chains go on statistically alike, not as an uninterrupted run's)\n", gen, from)
	return append(args, "--resume="+filepath.Join(r.env.Temp, resumeDir)), nil
}

// previousState reads the newest whole DREAM state an earlier attempt of
// this job saved: the three files' contents, where they were, and the
// generation reached. why says why newer states were refused.
func (r *bumpsRun) previousState() (state [][]byte, from string, gen int, why string) {
	if r.env.Job == nil || r.env.Job.Attempt <= 1 {
		return nil, "", 0, ""
	}
	jd := r.env.JobDir()
	var names []string
	if d, err := jobfs.OpenDir(jd); err == nil {
		names, _ = d.Names("previous")
		d.Close()
	}
	// Newest first: attempt-N-<unix ns>, by attempt, then by time.
	type aside struct {
		name       string
		attempt, t int64
	}
	var asides []aside
	for _, n := range names {
		f := strings.Split(n, "-")
		if len(f) != 3 || f[0] != "attempt" {
			continue
		}
		a, err1 := strconv.ParseInt(f[1], 10, 64)
		t, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil {
			asides = append(asides, aside{n, a, t})
		}
	}
	slices.SortFunc(asides, func(a, b aside) int {
		if a.attempt != b.attempt {
			return int(b.attempt - a.attempt)
		}
		return int(b.t - a.t)
	})
	var refused []string
	for _, a := range asides {
		dir := path.Join("previous", a.name, storeDir)
		st, g, err := readBumpsState(jd, dir, modelName(r.model))
		switch {
		case err == nil:
			return st, dir, g, strings.Join(refused, "; ")
		case err != errNoState:
			refused = append(refused, err.Error())
		}
	}
	return nil, "", 0, strings.Join(refused, "; ")
}

// errNoState is a store with no saved DREAM state at all.
var errNoState = errors.New("no saved state")

// readBumpsState reads the state files of model in dir (relative to the
// job directory jd) and checks each is whole: gzip's own length and
// CRC-32 are checked by reading it to its end. It returns the files and
// the number of generations the chain file holds.
func readBumpsState(jd, dir, model string) ([][]byte, int, error) {
	var out [][]byte
	gen := 0
	for _, suffix := range bumpsStateFiles {
		rel := dir + "/" + model + suffix
		b, err := jobfs.ReadFile(jd, rel, maxBumpsState)
		if err != nil {
			if len(out) == 0 && errors.Is(err, fs.ErrNotExist) {
				return nil, 0, errNoState
			}
			return nil, 0, fmt.Errorf("%s: %v", rel, err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %v", rel, err)
		}
		lines := 0
		sc := bufio.NewScanner(io.LimitReader(zr, maxBumpsState))
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if l := sc.Bytes(); len(l) > 0 && l[0] != '#' {
				lines++
			}
		}
		if err := sc.Err(); err != nil {
			return nil, 0, fmt.Errorf("%s: %v", rel, err)
		}
		if suffix == bumpsStateFiles[0] {
			gen = lines
		}
		out = append(out, b)
	}
	if gen == 0 {
		return nil, 0, fmt.Errorf("%s: no generation saved", dir)
	}
	return out, gen, nil
}
