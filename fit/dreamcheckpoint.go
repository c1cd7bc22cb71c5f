package fit

import (
	"fmt"
	"math/rand/v2"
)

// dreamSaved is DREAM's checkpoint: the state's exported fields, the
// random source's state, the evaluation count (so that the result's
// count matches a run never interrupted) and the sampling targets, which
// a continued fit has moved past what its options alone say.
type dreamSaved struct {
	// State is the state without its long lists, which travel packed.
	State       *dreamState
	Draws       packedRows
	LogP        packedRows
	Archive     packedRows
	Window      packedRows // generation-major, nc rows a generation
	PostStart   int
	RNG         []byte
	Evals       int64
	KeptGens    int
	MaxKeptGens int
	MaxBurn     int
}

func (st *dreamState) saved(r *runner, cfg dreamConfig) *dreamSaved {
	rng, _ := st.src.MarshalBinary() // a PCG's MarshalBinary cannot fail
	short := *st
	short.Draws, short.LogP, short.Archive, short.Window = nil, nil, nil, nil
	var window [][]float64
	for _, gen := range st.Window {
		window = append(window, gen...)
	}
	return &dreamSaved{State: &short, PostStart: st.postStart, RNG: rng, Evals: r.e.p.evals.Load(),
		Draws: packRows(st.Draws, cfg.d), LogP: packRows(st.LogP, cfg.nc), Archive: packRows(st.Archive, cfg.d),
		Window:   packRows(window, cfg.d),
		KeptGens: cfg.keptGens, MaxKeptGens: cfg.maxKeptGens, MaxBurn: cfg.maxBurn}
}

// unpackInto puts the packed lists back into sv.State.
func (sv *dreamSaved) unpackInto(cfg *dreamConfig) error {
	st := sv.State
	var err error
	if st.Draws, err = sv.Draws.unpack(cfg.d); err != nil {
		return fmt.Errorf("draws: %w", err)
	}
	if st.LogP, err = sv.LogP.unpack(cfg.nc); err != nil {
		return fmt.Errorf("log densities: %w", err)
	}
	if st.Archive, err = sv.Archive.unpack(cfg.d); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	window, err := sv.Window.unpack(cfg.d)
	if err != nil || len(window)%cfg.nc != 0 {
		return fmt.Errorf("burn-in window: %v", err)
	}
	st.Window = nil
	for g := 0; g < len(window); g += cfg.nc {
		st.Window = append(st.Window, window[g:g+cfg.nc:g+cfg.nc])
	}
	return nil
}

// restoreDream rebuilds the sampler from the checkpoint the runner holds
// and moves cfg's targets to the checkpoint's (or, continuing an ended
// fit, past them by options.samples); nil means a fresh start.
func restoreDream(r *runner, cfg *dreamConfig) *dreamState {
	var sv dreamSaved
	if !r.restore(&sv) {
		return nil
	}
	st := sv.State
	if st == nil {
		r.logf("checkpoint not used, starting afresh: no DREAM state in it")
		return nil
	}
	err := sv.unpackInto(cfg)
	if err == nil {
		err = st.checkShape(cfg)
	}
	if err != nil {
		r.logf("checkpoint not used, starting afresh: %v", err)
		return nil
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(sv.RNG); err != nil {
		r.logf("checkpoint not used, starting afresh: random generator state: %v", err)
		return nil
	}
	st.src, st.rng, st.postStart = src, rand.New(src), sv.PostStart
	st.initScratch(r.e.p, *cfg)
	r.e.p.evals.Store(sv.Evals)
	if sv.KeptGens > 0 {
		cfg.keptGens, cfg.maxKeptGens, cfg.maxBurn = sv.KeptGens, sv.MaxKeptGens, sv.MaxBurn
	}
	if r.ckpt.extend {
		kept := len(st.Draws) / cfg.nc
		more := newDreamConfig(r.opts, cfg.d)
		cfg.keptGens = kept + more.keptGens
		cfg.maxKeptGens = kept + more.maxKeptGens
		st.Checked = false
		r.logf("continuing the earlier fit from generation %d (%d draws) for %d more draws", st.Gen, len(st.Draws), more.keptGens*cfg.nc)
	} else {
		r.logf("resumed from checkpoint at step %d", st.Gen)
	}
	return st
}

// checkShape refuses a decoded state that does not fit the problem: a
// checkpoint passes the checksum and the header's problem hash, so this
// guards only against a state written by a different build.
func (st *dreamState) checkShape(cfg *dreamConfig) error {
	bad := len(st.X) != cfg.nc || len(st.Cost) != cfg.nc || len(st.BestX) != cfg.d ||
		len(st.PCR) != dreamNCR || len(st.CRJump) != dreamNCR || len(st.CRCount) != dreamNCR ||
		len(st.Archive) != len(st.ArchiveGen) || len(st.Archive) < 2 || len(st.Draws)%cfg.nc != 0
	for _, rows := range [][][]float64{st.X, st.Archive, st.Draws} {
		for _, x := range rows {
			bad = bad || len(x) != cfg.d
		}
	}
	if bad {
		return fmt.Errorf("DREAM state does not match the problem (%d chains of %d parameters)", cfg.nc, cfg.d)
	}
	return nil
}

// initScratch makes the working space a state needs besides what it
// saves.
func (st *dreamState) initScratch(p *problem, cfg dreamConfig) {
	st.lo, st.hi = p.lo, p.hi
	st.pcost, st.crIdx = make([]float64, cfg.nc), make([]int, cfg.nc)
	st.logJac, st.sd, st.u = make([]float64, cfg.nc), make([]float64, cfg.d), make([]float64, cfg.nc)
	st.prop = make([][]float64, cfg.nc)
	for i := range st.prop {
		st.prop[i] = make([]float64, cfg.d)
	}
}

// stoppedDraws are the draws a fit stopped early reports: those kept so
// far or, stopped in burn-in, the burn-in window's states (marked as
// such by the warning).
func (st *dreamState) stoppedDraws() {
	if len(st.Draws) > 0 || !st.Burning {
		return
	}
	for _, row := range st.Window {
		st.Draws = append(st.Draws, row...)
	}
	st.Checked = false
}

// stoppedWarning says that a stopped fit's statistics are from the draws
// made so far, and why they may be worse than that.
func stoppedWarning(gen, draws, planned int, burning bool, notConverged string) string {
	w := fmt.Sprintf("stopped early by request at generation %d with %d of %d planned draws: the statistics are from the draws so far", gen, draws, planned)
	if burning {
		w = fmt.Sprintf("stopped early by request at generation %d, during burn-in: the statistics are from %d burn-in states, which may not yet follow the posterior", gen, draws)
	}
	if notConverged != "" {
		w += "; " + notConverged
	}
	return w
}

// saveCut saves the state of a fit whose context ended, with the random
// source and the evaluation count as they were before the generation
// that was cut short.
func (st *dreamState) saveCut(r *runner, cfg dreamConfig, src rand.PCG, evals int64) {
	if r.ckpt == nil || r.ckpt.save == nil {
		return
	}
	*st.src = src
	sv := st.saved(r, cfg)
	sv.Evals = evals
	r.writeCheckpoint(st.Gen, false, sv)
}
