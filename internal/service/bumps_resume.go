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
	// maxSentState bounds the packed state read back (api.CheckpointMax,
	// the most a worker may send).
	maxSentState = 1 << 30
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
	if state == nil {
		if why != "" {
			fmt.Fprintf(r.env.Log, "checkpoint not used, starting afresh: %s\n", why)
		}
		return args, nil
	}
	if why != "" {
		fmt.Fprintf(r.env.Log, "a saved state was not used: %s\n", why)
	}
	if err := r.env.MkdirTemp(resumeDir); err != nil {
		return nil, err
	}
	for i, suffix := range bumpsStateFiles {
		if err := r.env.PutTemp(resumeDir+"/"+modelName(r.model)+suffix, state[i]); err != nil {
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
		if err == nil {
			state, from, gen = st, dir, g
			break
		}
		if err != errNoState {
			refused = append(refused, err.Error())
		}
	}
	// The state an attempt on an HTTP worker sent (fetched with the
	// job's inputs on a worker, kept by the controller): taken if it is
	// further along than any store here, as DREAM's generations only grow
	// from one attempt to the next.
	st, g, err := readSentState(jd)
	switch {
	case err == nil && g > gen:
		state, from, gen = st, BumpsStateFile, g
	case err != nil && err != errNoState:
		refused = append(refused, err.Error())
	}
	return state, from, gen, strings.Join(refused, "; ")
}

// readSentState reads and checks BumpsStateFile in the job directory jd.
func readSentState(jd string) ([][]byte, int, error) {
	b, err := jobfs.ReadFile(jd, BumpsStateFile, maxSentState)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, errNoState
	}
	var files [][]byte
	if err == nil {
		files, err = unpackBumpsState(b)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", BumpsStateFile, err)
	}
	gen, err := checkBumpsState(files, BumpsStateFile+" entry ")
	return files, gen, err
}

// errNoState is a store with no saved DREAM state at all.
var errNoState = errors.New("no saved state")

// readBumpsState reads the state files of model in dir (relative to the
// job directory jd) and checks each is whole: gzip's own length and
// CRC-32 are checked by reading it to its end. It returns the files and
// the number of generations the chain file holds.
func readBumpsState(jd, dir, model string) ([][]byte, int, error) {
	var out [][]byte
	for _, suffix := range bumpsStateFiles {
		rel := dir + "/" + model + suffix
		b, err := jobfs.ReadFile(jd, rel, maxBumpsState)
		if err != nil {
			if len(out) == 0 && errors.Is(err, fs.ErrNotExist) {
				return nil, 0, errNoState
			}
			return nil, 0, fmt.Errorf("%s: %v", rel, err)
		}
		out = append(out, b)
	}
	gen, err := checkBumpsState(out, dir+"/"+model)
	if err != nil {
		return nil, 0, err
	}
	return out, gen, nil
}

// checkBumpsState checks each state file (named where+suffix in errors)
// is whole and returns the number of generations the chain file holds.
func checkBumpsState(files [][]byte, where string) (int, error) {
	gen := 0
	for i, suffix := range bumpsStateFiles {
		zr, err := gzip.NewReader(bytes.NewReader(files[i]))
		if err != nil {
			return 0, fmt.Errorf("%s%s: %v", where, suffix, err)
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
			return 0, fmt.Errorf("%s%s: %v", where, suffix, err)
		}
		if i == 0 {
			gen = lines
		}
	}
	if gen == 0 {
		return 0, fmt.Errorf("%s: no generation saved", where)
	}
	return gen, nil
}
