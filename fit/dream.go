package fit

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
)

// DREAM constants from Vrugt (2016), "Markov chain Monte Carlo simulation
// using the DREAM software package", and ter Braak and Vrugt (2008),
// "Differential evolution Markov chain with snooker updater and fewer
// chains" (DREAM(ZS)).
const (
	dreamDeltaMax  = 3     // most archive pairs in one differential jump
	dreamNCR       = 3     // crossover values 1/3, 2/3, 1
	dreamJumpProb  = 0.2   // probability of a γ=1 jump between modes
	dreamC         = 0.1   // relative jitter of the differential jump
	dreamCStar     = 1e-12 // absolute jitter keeping the chain ergodic
	dreamSnooker   = 0.1   // probability of a snooker update
	dreamZEvery    = 2     // generations between archive appends
	dreamBurnRhat  = 1.05  // burn-in ends once the window's R-hat is below this
	dreamMaxWindow = 5000  // most burn-in generations the R-hat window holds
	dreamMaxBurnX  = 10    // burn-in lasts at most this many times options.burn (or the sampling)
	// dreamChains is the default number of chains. Sampling from the
	// archive, DREAM(ZS) needs few (ter Braak and Vrugt use 3), and R-hat
	// below 1.01 needs about 50 effective draws per half chain, so a
	// fixed budget is better spent on long chains than on many.
	dreamChains    = 8
	defaultMaxXOpt = 10 // until_converged: default max_samples = 10 × samples

	dreamIndepProb  = 0.3  // share of independence proposals
	dreamIndepLow   = 0.05 // least share after burn-in ...
	dreamIndepHigh  = 0.6  // ... and most
	dreamIndepNu    = 10   // degrees of freedom of the t proposal
	dreamIndepScale = 1.2  // its width relative to the Laplace covariance
)

// fitDREAM samples the posterior exp(-cost/2) (bounds are a uniform prior)
// with DREAM(ZS): a population of chains proposes differential-evolution
// jumps, with randomized subspace crossover, from the differences of
// states drawn from the chains' own past (the archive), and now and then a
// snooker update along the line to an archived state. Sampling from the
// past keeps the proposals matched to the posterior's shape with few
// chains and lets chains jump between modes the archive has seen. A share
// of the proposals are independence Metropolis–Hastings draws from the
// Laplace approximation the chains started from.
//
// Chains start around the Levenberg–Marquardt optima (see dreamPopulation
// and laplaceModes). Burn-in lasts at least options.burn generations
// and then until no chain is an outlier and the chains agree (R-hat of the
// second half of the burn-in below dreamBurnRhat); crossover rates adapt
// only during burn-in. Only the draws after burn-in enter the statistics.
// Every random number of a generation is drawn on this goroutine before
// the proposals are evaluated together on the mapper, so the result does
// not depend on the number of CPUs.
func fitDREAM(r *runner) (*outcome, error) {
	cfg := newDreamConfig(r.opts, r.e.p.dim())
	st := restoreDream(r, &cfg)
	if st == nil {
		var err error
		if st, err = newDreamState(r, cfg); err != nil {
			return nil, err
		}
	}
	stopped := false
	for !st.done(cfg) {
		// A fit cut short (the job drained, or preempted) saves where it
		// is, so that the next attempt loses nothing. A generation cut
		// short has advanced only the random source and the evaluation
		// count: with those put back, the state is the last generation's.
		src, evals := *st.src, r.e.p.evals.Load()
		if err := r.ctx.Err(); err != nil {
			st.saveCut(r, cfg, src, evals)
			return nil, err
		}
		if stopped = r.stopRequested(); stopped {
			break
		}
		if err := st.generation(r, cfg); err != nil {
			if r.ctx.Err() != nil {
				st.saveCut(r, cfg, src, evals)
			}
			return nil, err
		}
		st.afterGeneration(cfg)
		r.progress(st.Gen, st.BestCost, st.BestX, "")
		r.maybeCheckpoint(st.Gen, func() any { return st.saved(r, cfg) })
	}
	// The state it ends in, before the statistics touch it: a later job
	// may continue from there.
	r.finalCheckpoint(st.Gen, func() any { return st.saved(r, cfg) })
	return st.outcome(r, cfg, stopped), nil
}

// dreamConfig is the resolved options of a run.
type dreamConfig struct {
	d, nc          int
	minBurn        int
	maxBurn        int
	thin           int
	keptGens       int // post-burn-in generations that give options.samples
	maxKeptGens    int // until_converged: most post-burn-in generations
	checkEvery     int // generations between outlier and burn-in checks
	untilConverged bool
}

func newDreamConfig(o FitOptions, d int) dreamConfig {
	nc := dreamChains
	if o.Pop > 0 {
		nc = max(o.Pop*d, 2*dreamDeltaMax+2)
	}
	burn := cmp.Or(o.Burn, defaultBurn)
	thin := cmp.Or(o.Thin, defaultThin)
	samples := cmp.Or(o.Samples, defaultSamples)
	kept := (samples + nc - 1) / nc
	maxKept := kept
	if o.UntilConverged {
		maxKept = max(kept, (cmp.Or(o.MaxSamples, defaultMaxXOpt*samples)+nc-1)/nc)
	}
	return dreamConfig{
		d: d, nc: nc, minBurn: burn, thin: thin,
		maxBurn:        max(dreamMaxBurnX*burn, kept*thin),
		keptGens:       kept,
		maxKeptGens:    maxKept,
		checkEvery:     max(burn/4, 10),
		untilConverged: o.UntilConverged,
	}
}

// dreamState is everything a DREAM run needs to continue where it is:
// its exported fields, the options and the state of src make a
// checkpoint; the unexported rest is scratch space rebuilt on resuming.
type dreamState struct {
	Gen       int         // generations done
	Burning   bool        // still in burn-in
	BurnStart int         // generation the current burn-in window began
	BurnGens  int         // generations spent in burn-in in all
	X         [][]float64 // current state of each chain
	Cost      []float64   // its cost, -2 log posterior up to a constant
	// Archive holds past states (rows of d), ArchiveGen the generation
	// each was added (0 for the starting draws).
	Archive    [][]float64
	ArchiveGen []int
	// Modes are the Laplace approximations the chains started from;
	// IndepProb of the proposals are drawn from their mixture
	// (independence Metropolis–Hastings), which lets chains cross between
	// modes and decorrelates them fast where the posterior is close to
	// its approximation.
	Modes                    modeMixture
	IndepProb                float64
	IndepTried, IndepAccepts int       // during burn-in, to tune IndepProb
	PCR                      []float64 // crossover probabilities
	CRJump                   []float64 // squared normalized jumps per crossover value
	CRCount                  []float64 // proposals per crossover value
	// Draws are the kept post-burn-in states, generation-major: row
	// t*nc+c is chain c at kept generation t.
	Draws [][]float64
	// LogP is the log posterior of every chain at every generation, for
	// the outlier test and the trace plot.
	LogP [][]float64
	// Window holds the burn-in states since its second half began,
	// one row of nc states per generation, for the burn-in R-hat.
	Window             [][][]float64
	WindowStart        int
	Accepted, Proposed int // after burn-in
	Resets             int // chains reset onto the best chain
	BestX              []float64
	BestCost           float64
	Checked            bool // the convergence of the current draws is known
	Rhat, ESS          []float64
	TailESS            []float64
	Converged          bool

	// src is the random source (its state saves with MarshalBinary) and
	// rng draws from it; the rest is scratch space and the box.
	src       *rand.PCG
	rng       *rand.Rand
	lo, hi    []float64
	prop      [][]float64
	pcost     []float64
	crIdx     []int
	logJac    []float64
	sd        []float64
	u         []float64
	postStart int // generation burn-in last ended
}

func newDreamState(r *runner, cfg dreamConfig) (*dreamState, error) {
	src := newPCG(r.opts.Seed)
	rng := rand.New(src)
	p := r.e.p
	x, archive, modes, err := dreamPopulation(r, rng, clipBox(p.x0(), p.lo, p.hi), p.lo, p.hi, cfg.nc)
	if err != nil {
		return nil, err
	}
	st := &dreamState{
		Burning: true, X: x, Cost: make([]float64, cfg.nc),
		Archive: archive, ArchiveGen: make([]int, len(archive)),
		Modes: modes, IndepProb: dreamIndepProb,
		PCR:    []float64{1.0 / 3, 1.0 / 3, 1.0 / 3},
		CRJump: make([]float64, dreamNCR), CRCount: make([]float64, dreamNCR),
		src: src, rng: rng,
	}
	st.initScratch(p, cfg)
	// Room for the usual run, so that appending rarely copies.
	gens := cfg.minBurn*2 + cfg.keptGens*cfg.thin
	st.LogP = make([][]float64, 0, gens)
	st.Draws = make([][]float64, 0, cfg.keptGens*cfg.nc)
	if err := r.e.costs(r.ctx, st.X, st.Cost); err != nil {
		return nil, err
	}
	best := argmin(st.Cost)
	st.BestX, st.BestCost = append([]float64(nil), st.X[best]...), st.Cost[best]
	return st, nil
}

// generation proposes a move for every chain, evaluates the proposals
// together and accepts each by the Metropolis rule.
func (st *dreamState) generation(r *runner, cfg dreamConfig) error {
	for i := range cfg.nc {
		st.crIdx[i], st.logJac[i] = st.propose(i, st.prop[i])
		st.u[i] = st.rng.Float64()
	}
	if err := r.e.costs(r.ctx, st.prop, st.pcost); err != nil {
		return err
	}
	st.Gen++
	spread(st.X, st.sd)
	row := make([]float64, cfg.nc)
	for i := range cfg.nc {
		jump := 0.0
		accept := math.Log(st.u[i]) < (st.Cost[i]-st.pcost[i])/2+st.logJac[i]
		if accept {
			for j := range cfg.d {
				if st.sd[j] > 0 {
					dj := (st.prop[i][j] - st.X[i][j]) / st.sd[j]
					jump += dj * dj
				}
			}
			st.X[i], st.prop[i] = st.prop[i], st.X[i]
			st.Cost[i] = st.pcost[i]
			if !st.Burning {
				st.Accepted++
			}
		}
		if !st.Burning {
			st.Proposed++
		}
		if st.Cost[i] < st.BestCost {
			st.BestCost = st.Cost[i]
			copy(st.BestX, st.X[i])
		}
		if st.crIdx[i] == crIndep && st.Burning {
			st.IndepTried++
			if accept {
				st.IndepAccepts++
			}
		}
		if st.crIdx[i] >= 0 && st.Burning {
			st.CRJump[st.crIdx[i]] += jump
			st.CRCount[st.crIdx[i]]++
		}
		row[i] = -st.Cost[i] / 2
	}
	st.LogP = append(st.LogP, row)
	if st.Gen%dreamZEvery == 0 {
		for _, xi := range st.X {
			st.Archive = append(st.Archive, append([]float64(nil), xi...))
			st.ArchiveGen = append(st.ArchiveGen, st.Gen)
		}
	}
	return nil
}

// afterGeneration adapts, checks burn-in and keeps draws.
func (st *dreamState) afterGeneration(cfg dreamConfig) {
	if st.Burning {
		st.BurnGens++
		adaptCR(st.PCR, st.CRJump, st.CRCount)
		st.Window = append(st.Window, cloneRows(st.X))
		since := st.Gen - st.BurnStart
		if since%cfg.checkEvery != 0 {
			return
		}
		st.resetOutliers(st.BurnStart)
		// Keep only the second half of the window (and of the archive),
		// at most dreamMaxWindow generations, so that a long burn-in
		// neither fills memory nor judges the chains by where they were.
		half := min((st.Gen-st.BurnStart)/2, dreamMaxWindow)
		if drop := len(st.Window) - half; drop > 0 {
			st.Window = st.Window[drop:]
		}
		st.trimArchive(st.Gen - half)
		if since < cfg.minBurn && st.BurnGens < cfg.maxBurn {
			return
		}
		if st.BurnGens >= cfg.maxBurn || st.windowRhat() < dreamBurnRhat {
			st.endBurn()
		}
		return
	}
	if (st.Gen-st.postStart)%cfg.thin == 0 {
		st.Draws = append(st.Draws, cloneRows(st.X)...)
		st.Checked = false
	}
	// No outlier test after burn-in: a chain whose log density is low
	// may be in a tail that holds real mass (a plateau, a lower mode), and
	// resetting it and discarding the draws keeps exactly the runs that
	// stayed out of that tail. A chain that is really stuck shows in R-hat.
}

// endBurn starts sampling and drops the archive's states from the first
// half of burn-in, which may lie far from the posterior.
func (st *dreamState) endBurn() {
	st.Burning, st.Window, st.postStart = false, nil, st.Gen
	// After burn-in independence proposals take the share of their
	// acceptance rate: most of them where the posterior is close to its
	// Laplace approximation, few where they would be wasted evaluations.
	if st.IndepTried > 0 {
		st.IndepProb = min(max(float64(st.IndepAccepts)/float64(st.IndepTried), dreamIndepLow), dreamIndepHigh)
	}
	st.trimArchive(st.Gen - min((st.Gen-st.BurnStart)/2, dreamMaxWindow))
}

// trimArchive drops the archived states added up to generation cut,
// keeping at least two per chain.
func (st *dreamState) trimArchive(cut int) {
	drop := 0
	for drop < len(st.ArchiveGen) && st.ArchiveGen[drop] <= cut {
		drop++
	}
	drop = min(drop, max(0, len(st.Archive)-2*len(st.X)))
	st.Archive, st.ArchiveGen = st.Archive[drop:], st.ArchiveGen[drop:]
}

// windowRhat is the worst split R-hat of the burn-in window over the
// parameters.
func (st *dreamState) windowRhat() float64 {
	if len(st.Window) < 8 {
		return math.Inf(1)
	}
	worst := 0.0
	for j := range st.X[0] {
		series := make([][]float64, len(st.X))
		for c := range series {
			series[c] = make([]float64, len(st.Window))
			for t, row := range st.Window {
				series[c][t] = row[c][j]
			}
		}
		// Plain split R-hat: ranks would cost a sort at every check, and
		// the burn-in needs only to see the chains agree.
		worst = max(worst, basicRhat(splitChains(series)))
	}
	return worst
}

// done reports whether sampling may stop: enough draws, and with
// until_converged also convergence or the sample cap.
func (st *dreamState) done(cfg dreamConfig) bool {
	if st.Burning {
		return false
	}
	kept := len(st.Draws) / cfg.nc
	if kept < cfg.keptGens {
		return false
	}
	if !cfg.untilConverged || kept >= cfg.maxKeptGens {
		return true
	}
	// Check again after every further quarter of the planned draws.
	if (kept-cfg.keptGens)%max(cfg.keptGens/4, 1) != 0 {
		return false
	}
	st.diagnose(cfg)
	return st.Converged
}

// diagnose computes R-hat, bulk and tail ESS of every parameter from
// the draws.
func (st *dreamState) diagnose(cfg dreamConfig) {
	if st.Checked {
		return
	}
	n := len(st.Draws) / cfg.nc
	series := make([][][]float64, cfg.d)
	for j := range series {
		series[j] = make([][]float64, cfg.nc)
		for c := range series[j] {
			series[j][c] = make([]float64, n)
			for t := range n {
				series[j][c][t] = st.Draws[t*cfg.nc+c][j]
			}
		}
	}
	d := Diagnose(series, "")
	st.Rhat, st.ESS, st.TailESS, st.Converged = d.Rhat, d.ESS, d.TailESS, d.Converged
	st.Checked = true
}

func (st *dreamState) outcome(r *runner, cfg dreamConfig, stopped bool) *outcome {
	burning := st.Burning
	if stopped {
		st.stoppedDraws()
	}
	st.diagnose(cfg)
	worstR, leastESS, leastTail := 0.0, math.Inf(1), math.Inf(1)
	for j := range cfg.d {
		worstR, leastESS, leastTail = max(worstR, st.Rhat[j]), min(leastESS, st.ESS[j]), min(leastTail, st.TailESS[j])
	}
	msg := fmt.Sprintf("dream: %d chains, %d generations (%d burn-in), %d draws, acceptance %.2f, max R-hat %.4f, min ESS %.0f (tail %.0f)",
		cfg.nc, st.Gen, st.BurnGens, len(st.Draws), float64(st.Accepted)/float64(max(1, st.Proposed)), worstR, leastESS, leastTail)
	if st.IndepTried > 0 {
		msg += fmt.Sprintf(", independence acceptance %.2f in burn-in", float64(st.IndepAccepts)/float64(st.IndepTried))
	}
	if st.Resets > 0 {
		msg += fmt.Sprintf(", %d outlier chains reset", st.Resets)
	}
	r.logf("%s", msg)
	out := &outcome{x: st.BestX, converged: st.Converged, steps: st.Gen, message: msg,
		samples: st.Draws, logp: st.LogP, rhat: st.Rhat, ess: st.ESS}
	if !st.Converged {
		out.warning = notConvergedWarning(worstR, leastESS, leastTail, "draw more samples or set options.until_converged")
	}
	if stopped {
		out.stopped, out.converged = true, false
		out.warning = stoppedWarning(st.Gen, len(st.Draws), cfg.keptGens*cfg.nc, burning, out.warning)
		r.logf("stopped early by request at generation %d", st.Gen)
	}
	return out
}

func cloneRows(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, xi := range x {
		out[i] = append([]float64(nil), xi...)
	}
	return out
}
