package fit

import "math/rand/v2"

// deState is differential evolution's checkpoint: the population and
// its costs after generation Gen, and the random source.
type deState struct {
	Gen   int
	Pop   [][]float64
	Cost  []float64
	RNG   []byte
	Evals int64

	src *rand.PCG
}

func (st *deState) saved(r *runner) *deState {
	st.RNG, _ = st.src.MarshalBinary() // a PCG's MarshalBinary cannot fail
	st.Evals = r.e.p.evals.Load()
	return st
}

// restoreDE returns the state to go on from, or nil for a fresh start.
func restoreDE(r *runner, np, n int) *deState {
	var st deState
	if !r.restore(&st) {
		return nil
	}
	ok := len(st.Pop) == np && len(st.Cost) == np
	for _, x := range st.Pop {
		ok = ok && len(x) == n
	}
	st.src = &rand.PCG{}
	if err := st.src.UnmarshalBinary(st.RNG); err != nil || !ok {
		r.logf("checkpoint not used, starting afresh: DE state does not match the problem")
		return nil
	}
	r.e.p.evals.Store(st.Evals)
	r.logf("resumed from checkpoint at step %d", st.Gen)
	return &st
}
