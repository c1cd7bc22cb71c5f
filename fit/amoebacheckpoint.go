package fit

import "errors"

// errStopped ends an optimiser's inner loop when a stop was requested;
// the fitter then reports the best point so far.
var errStopped = errors.New("stopped early by request")

// amoebaLoop is one Nelder–Mead run between two iterations: the simplex,
// its costs, the stagnation test's memory and the next iteration.
type amoebaLoop struct {
	Pts      [][]float64
	F        []float64
	LastBest float64
	LastGain int
	It       int
}

// amoebaSaved is amoeba's checkpoint: the restart it is in, what the
// restarts before it found, and that run's loop.
type amoebaSaved struct {
	Start, Total int
	X            []float64
	Best         float64
	Converged    bool
	Loop         amoebaLoop
	Evals        int64
}

// restoreAmoeba returns the state to go on from, or nil for a fresh start.
func restoreAmoeba(r *runner, n int) *amoebaSaved {
	var sv amoebaSaved
	if !r.restore(&sv) {
		return nil
	}
	ok := len(sv.X) == n && len(sv.Loop.Pts) == n+1 && len(sv.Loop.F) == n+1 && sv.Loop.It >= 1
	for _, p := range sv.Loop.Pts {
		ok = ok && len(p) == n
	}
	if !ok {
		r.logf("checkpoint not used, starting afresh: amoeba state does not match the problem")
		return nil
	}
	r.e.p.evals.Store(sv.Evals)
	r.logf("resumed from checkpoint at step %d", sv.Total+sv.Loop.It-1)
	return &sv
}
