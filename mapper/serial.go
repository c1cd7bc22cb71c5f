package mapper

import "context"

// Serial evaluates the points one after another on the calling goroutine.
type Serial struct{}

var _ Mapper = Serial{}

// Map implements Mapper.
func (Serial) Map(ctx context.Context, n int, f func(worker, i int)) error {
	for i := range n {
		// Checking the context per point keeps cancellation prompt even
		// when one batch holds many slow evaluations.
		if err := ctx.Err(); err != nil {
			return err
		}
		f(0, i)
	}
	return ctx.Err()
}

// CPUs implements Mapper.
func (Serial) CPUs() int { return 1 }

// Close implements Mapper.
func (Serial) Close() {}
