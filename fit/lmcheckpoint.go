package fit

// lmLoop is a Levenberg–Marquardt run between two iterations: the point,
// its residuals and cost, the iterations done, Marquardt's scaling, the
// damping and the polishing steps taken; all its other variables are
// computed afresh each iteration.
type lmLoop struct {
	X, R     []float64
	Cost     float64
	Iters    int
	Diag     []float64
	Lambda   float64
	Polished int
}

// lmBest is an ended run's lmState, for a checkpoint.
type lmBest struct {
	X, R      []float64
	Cost      float64
	Iters     int
	Converged bool
	Reason    string
}

func (st *lmState) saved() *lmBest {
	if st == nil {
		return nil
	}
	return &lmBest{X: st.x, R: st.r, Cost: st.cost, Iters: st.iters, Converged: st.converged, Reason: st.reason}
}

func (b *lmBest) state() *lmState {
	if b == nil {
		return nil
	}
	return &lmState{x: b.X, r: b.R, cost: b.Cost, iters: b.Iters, converged: b.Converged, reason: b.Reason}
}

// lmSaved is fitLM's checkpoint: which restart runs, the iterations of
// the runs before it, the best of them, and the running one's loop.
type lmSaved struct {
	Run, Total int
	Best       *lmBest
	Loop       lmLoop
	Evals      int64
}

// restoreLM returns the state to go on from, or nil for a fresh start.
func restoreLM(r *runner) *lmSaved {
	var sv lmSaved
	if !r.restore(&sv) {
		return nil
	}
	p := r.e.p
	n, m := p.dim(), p.nres()
	l := sv.Loop
	ok := len(l.X) == n && len(l.R) == m && len(l.Diag) == n && (sv.Best == nil) == (sv.Run == 0)
	if sv.Best != nil {
		ok = ok && len(sv.Best.X) == n && len(sv.Best.R) == m
	}
	if !ok {
		r.logf("checkpoint not used, starting afresh: LM state does not match the problem")
		return nil
	}
	p.evals.Store(sv.Evals)
	r.logf("resumed from checkpoint at step %d", sv.Total+l.Iters)
	return &sv
}
