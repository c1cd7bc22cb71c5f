package bumps

import (
	"fmt"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// MarkStopped marks the results of fit name, which was stopped early by
// request (its abort test), as a stopped native fit's are: stopped, not
// converged, with a warning saying what the figures come from. Steps
// become the steps made (the last progress line of the .mon file), not
// those planned; burn is DREAM's burn-in, in steps.
func MarkStopped(store *jobfs.Dir, name string, res *Result, burn int) error {
	mon, err := optional(store, name+".mon")
	if err != nil {
		return err
	}
	planned := res.Steps
	if p, ok := LastProgress(string(mon)); ok {
		res.Steps = p.Step
	}
	w := fmt.Sprintf("stopped early by request at step %d", res.Steps)
	if planned > res.Steps {
		w += fmt.Sprintf(" of %d planned", planned)
	}
	switch {
	case res.Fitter == "dream" && res.Steps <= burn:
		w += fmt.Sprintf(", during burn-in (%d steps): the statistics are from burn-in states, which may not yet follow the posterior", burn)
	case res.Fitter == "dream":
		w += ": the statistics are from the draws so far"
	default:
		w += ": the best point so far"
	}
	if res.Warning != "" {
		w += "; " + res.Warning
	}
	res.Stopped, res.Converged, res.Warning = true, false, w
	return nil
}
