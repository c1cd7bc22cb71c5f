package job

import "errors"

// ErrLeaseLost means a run's lease is no longer held (expired and
// requeued, the job cancelled or finished, deleted, or another attempt
// holds it now): the executor must stop the run and forget it, and any
// result it sends is refused. It is the one lease-lost error: the store
// returns it, the queue passes it on, and a worker's HTTP client turns the
// controller's 409 back into it, so every executor tests for this value.
var ErrLeaseLost = errors.New("lease lost")
