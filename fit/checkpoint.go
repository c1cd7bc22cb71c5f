package fit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// A checkpoint is a fit's whole state at a step boundary, enough to go on
// from there and end with exactly the result of a run never interrupted.
// Its layout, written once for every fitter:
//
//	line 1   "bumpserve-fit-checkpoint\n"
//	line 2   the header, one line of JSON (checkpointHeader): who wrote it,
//	         for which problem and options, at which step
//	then     the fitter's state, encoding/gob (exact floats, ±Inf and NaN
//	         included, which JSON cannot hold)
//	last 32  SHA-256 of everything before, so that a truncated or damaged
//	         file is known as such before any of it is believed.
const (
	checkpointMagic   = "bumpserve-fit-checkpoint\n"
	checkpointVersion = 1
	// DefaultCheckpointSeconds is the interval between checkpoints when
	// options.checkpoint_seconds is not given: a minute of a long fit is
	// what a requeue may cost, and writing even a large DREAM state once
	// a minute costs well under 1% of the fit.
	DefaultCheckpointSeconds = 60
	// MinCheckpointSeconds is the shortest interval accepted.
	MinCheckpointSeconds = 1
)

// checkpointHeader says what a checkpoint belongs to. A checkpoint whose
// problem or options differ from the fit's is foreign and refused.
type checkpointHeader struct {
	Version int        `json:"version"`
	Engine  string     `json:"engine"`
	Fitter  string     `json:"fitter"`
	Problem string     `json:"problem"` // problemHash of the loaded spec
	Options FitOptions `json:"options"` // as run, seed chosen
	Step    int        `json:"step"`
	Written time.Time  `json:"written"`
	// Final marks the state a fit ended in (completed or stopped): it can
	// be continued for more samples (Options.Continue).
	Final bool `json:"final,omitempty"`
}

// Checkpoint is a checkpoint as a fit hands it out to be stored.
type Checkpoint struct {
	Data  []byte
	Step  int
	Final bool // the fit's last state: it has completed or was stopped
}

// CheckpointInfo describes a stored checkpoint without decoding its state.
type CheckpointInfo struct {
	Fitter string
	Step   int
	Final  bool
}

// InspectCheckpoint checks a checkpoint's framing and checksum and
// returns its header's summary.
func InspectCheckpoint(data []byte) (CheckpointInfo, error) {
	h, _, err := splitCheckpoint(data)
	if err != nil {
		return CheckpointInfo{}, err
	}
	return CheckpointInfo{Fitter: h.Fitter, Step: h.Step, Final: h.Final}, nil
}

func encodeCheckpoint(h checkpointHeader, state any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic)
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("checkpoint header: %w", err)
	}
	buf.Write(hj)
	buf.WriteByte('\n')
	if err := gob.NewEncoder(&buf).Encode(state); err != nil {
		return nil, fmt.Errorf("checkpoint state: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	return buf.Bytes(), nil
}

// splitCheckpoint verifies the framing and the checksum and returns the
// header and the gob-encoded state.
func splitCheckpoint(data []byte) (checkpointHeader, []byte, error) {
	var h checkpointHeader
	if !bytes.HasPrefix(data, []byte(checkpointMagic)) {
		return h, nil, errors.New("not a bumpserve fit checkpoint")
	}
	if len(data) < len(checkpointMagic)+sha256.Size {
		return h, nil, errors.New("checkpoint truncated")
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return h, nil, errors.New("checkpoint damaged or truncated (checksum mismatch)")
	}
	rest := body[len(checkpointMagic):]
	line, state, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return h, nil, errors.New("checkpoint header truncated")
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return h, nil, fmt.Errorf("checkpoint header: %w", err)
	}
	if h.Version != checkpointVersion || h.Engine != Engine {
		return h, nil, fmt.Errorf("checkpoint of format %d by engine %q; this is format %d of %q", h.Version, h.Engine, checkpointVersion, Engine)
	}
	return h, state, nil
}

// decodeState decodes a checkpoint's state into v.
func decodeState(state []byte, v any) error {
	if err := gob.NewDecoder(bufio.NewReader(bytes.NewReader(state))).Decode(v); err != nil {
		return fmt.Errorf("checkpoint state: %w", err)
	}
	return nil
}

// problemHash identifies what is fitted: the fitter, the parameters with
// their bounds and priors, and every dataset's model and loaded data. A
// checkpoint of another problem is never resumed.
func problemHash(s *Spec) string {
	h := sha256.New()
	f := func(v ...any) { fmt.Fprintln(h, v...) }
	floats := func(xs []float64) {
		for _, x := range xs {
			fmt.Fprintf(h, "%x ", math.Float64bits(x))
		}
		fmt.Fprintln(h)
	}
	f("fitter", s.Fitter, "scale_errors", s.ScaleErrors)
	for _, p := range s.Parameters {
		f("parameter", p.Name, p.Fixed)
		floats([]float64{p.Value, p.Min, p.Max})
		if p.Prior != nil {
			floats([]float64{p.Prior.Mean, p.Prior.SD})
		}
	}
	for _, d := range s.Datasets {
		f("dataset", d.Name, d.Model)
		floats(d.X)
		floats(d.Y)
		floats(d.DY)
		names := make([]string, 0, len(d.Vars))
		for k := range d.Vars {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			f("var", k)
			floats(d.Vars[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sameRun reports whether options a and b give the same trajectory: the
// CPUs and the checkpoint interval change nothing in it. With extend
// (continuing a finished fit) the sample budget may differ too.
func sameRun(a, b FitOptions, extend bool) bool {
	norm := func(o FitOptions) FitOptions {
		o.CPUs, o.CheckpointSeconds, o.noStart = 0, 0, false
		if extend {
			o.Samples, o.MaxSamples, o.UntilConverged = 0, 0, false
		}
		return o
	}
	return norm(a) == norm(b)
}

// checkpointer saves a running fit's state when it is due and hands a
// resumed fit the state it left off with.
type checkpointer struct {
	save   func(Checkpoint) error
	every  time.Duration
	last   time.Time
	due    func(step int) bool // tests: decide by step, not by the clock
	header checkpointHeader
	failed bool // a write failed; logged once

	resume []byte // the state to continue from, verified; nil: fresh start
	extend bool   // resume is a finished fit to continue for more samples
}

// prepareResume checks opt.Resume against the fit about to run and keeps
// its state, or logs why it is not used and leaves the fit to start
// fresh. A spec without a seed takes the checkpoint's, so that the run
// goes on as it began.
func (r *runner) prepareResume(s *Spec, opt Options) error {
	// The first checkpoint comes one interval after the start, as the
	// start costs little to repeat.
	c := &checkpointer{save: opt.Checkpoint, every: opt.checkpointEvery(s.Options), due: opt.checkpointDue, last: time.Now()}
	r.ckpt = c
	c.header = checkpointHeader{Version: checkpointVersion, Engine: Engine, Fitter: s.Fitter, Problem: problemHash(s)}
	if opt.Resume == nil {
		if opt.Continue {
			return errors.New("options.continue: no earlier fit to continue from")
		}
		return nil
	}
	h, state, err := splitCheckpoint(opt.Resume)
	if err == nil {
		err = c.compatible(h, s, opt.Continue)
	}
	if err != nil {
		if opt.Continue {
			return fmt.Errorf("cannot continue the earlier fit: %w", err)
		}
		r.logf("checkpoint not used, starting afresh: %v", err)
		return nil
	}
	if s.Options.Seed == 0 {
		s.Options.Seed = h.Options.Seed
	}
	c.resume, c.extend = state, opt.Continue
	return nil
}

func (c *checkpointer) compatible(h checkpointHeader, s *Spec, extend bool) error {
	switch {
	case h.Fitter != s.Fitter:
		return fmt.Errorf("checkpoint of fitter %q, this fit is %q", h.Fitter, s.Fitter)
	case h.Problem != c.header.Problem:
		return errors.New("checkpoint of another problem (parameters, models or data differ)")
	case extend && !h.Final:
		return errors.New("the earlier fit has not ended")
	}
	o := s.Options
	if o.Seed == 0 {
		o.Seed = h.Options.Seed
	}
	if !sameRun(o, h.Options, extend) {
		return errors.New("checkpoint of the same problem with other options")
	}
	return nil
}

// restore decodes the state to resume from into v; false when the fit
// starts fresh (no checkpoint, or one whose state does not decode, which
// is logged).
func (r *runner) restore(v any) bool {
	c := r.ckpt
	if c == nil || c.resume == nil {
		return false
	}
	if err := decodeState(c.resume, v); err != nil {
		r.logf("checkpoint not used, starting afresh: %v", err)
		c.resume = nil
		return false
	}
	return true
}

// maybeCheckpoint saves the state state() returns if a checkpoint is due
// after step.
func (r *runner) maybeCheckpoint(step int, state func() any) {
	c := r.ckpt
	if c == nil || c.save == nil {
		return
	}
	if c.due != nil {
		if !c.due(step) {
			return
		}
	} else if time.Since(c.last) < c.every {
		return
	}
	r.writeCheckpoint(step, false, state())
}

// finalCheckpoint saves the state a fit ends in, which a later job may
// continue from.
func (r *runner) finalCheckpoint(step int, state func() any) {
	if r.ckpt != nil && r.ckpt.save != nil {
		r.writeCheckpoint(step, true, state())
	}
}

func (r *runner) writeCheckpoint(step int, final bool, state any) {
	c := r.ckpt
	h := c.header
	h.Options, h.Step, h.Final, h.Written = r.opts, step, final, time.Now().UTC()
	data, err := encodeCheckpoint(h, state)
	if err == nil {
		err = c.save(Checkpoint{Data: data, Step: step, Final: final})
	}
	c.last = time.Now()
	if err != nil && !c.failed {
		// The fit goes on: a checkpoint is insurance, not its result.
		c.failed = true
		r.logf("checkpoint at step %d not saved (the fit goes on): %v", step, err)
	}
}

// stopRequested reports whether the caller asked the fit to end early
// with what it has.
func (r *runner) stopRequested() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// checkpointEvery is the interval between checkpoints.
func (o Options) checkpointEvery(fo FitOptions) time.Duration {
	sec := fo.CheckpointSeconds
	if sec == 0 {
		sec = DefaultCheckpointSeconds
	}
	return time.Duration(sec * float64(time.Second))
}

// validateCheckpointSeconds checks options.checkpoint_seconds.
func validateCheckpointSeconds(v float64) error {
	if v == 0 {
		return nil
	}
	if !(v >= MinCheckpointSeconds) || math.IsInf(v, 1) {
		return fmt.Errorf("options.checkpoint_seconds: %g is not accepted; give a number of seconds of at least %d (default %d)", v, MinCheckpointSeconds, DefaultCheckpointSeconds)
	}
	return nil
}

// CheckpointMagicLen is how many bytes HasCheckpointMagic looks at.
const CheckpointMagicLen = len(checkpointMagic)

// HasCheckpointMagic says whether head, a file's first bytes, begins as
// every checkpoint does: a cheap test of what is offered as one, before
// it replaces a good one (InspectCheckpoint checks the whole).
func HasCheckpointMagic(head []byte) bool {
	return len(head) >= len(checkpointMagic) && string(head[:len(checkpointMagic)]) == checkpointMagic
}
