package job

import "fmt"

// LimitError says a job went over one of its own limits: it ends in
// ERROR with this as its reason, and is not run again (another attempt
// would hit the same limit). Key is the limit's spec key ("memory_mb"),
// Value its value with its unit ("200 MB"). Services return it as they
// got it, not wrapped, so that the reason starts with "limit exceeded".
type LimitError struct {
	Key, Value string
	Detail     string // what happened, or ""
	Err        error  // how the process ended, or nil
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("limit exceeded: %s (%s)", e.Key, e.Value)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *LimitError) Unwrap() error { return e.Err }
