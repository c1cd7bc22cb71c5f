// Package mapper evaluates a batch of independent points, such as a
// differential-evolution population or the columns of a Jacobian, on one or
// more CPUs.
//
// A Mapper never decides anything a result depends on: the caller draws all
// randomness before mapping and each call f(worker, i) writes only its own
// output slot, so a serial and a pooled Mapper produce identical results.
package mapper

import "context"

// Mapper runs f for every index of a batch.
type Mapper interface {
	// Map calls f(worker, i) once for each i in [0, n) and returns when all
	// calls have finished. worker is in [0, CPUs()) and no two concurrent
	// calls share it, so f may use per-worker scratch space. Map stops
	// starting new calls once ctx is done and then returns ctx.Err().
	Map(ctx context.Context, n int, f func(worker, i int)) error
	// CPUs is the number of calls that may run at once.
	CPUs() int
	// Close releases the workers; the Mapper must not be used afterwards.
	Close()
}

// New returns a serial Mapper when cpus <= 1 and a pool of cpus goroutines
// otherwise.
func New(cpus int) Mapper {
	if cpus <= 1 {
		return Serial{}
	}
	return NewPool(cpus)
}
