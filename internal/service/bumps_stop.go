package service

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"

	"github.com/bumpserve/bumpserve/internal/guard"
	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// A bumps fit stops early the way bumps' own time limit (--time) and its
// GUI's stop button end one: the fit driver's abort test turns true, the
// fitter ends at its next step, and bumps writes its results from what it
// has — for DREAM, the statistics of the draws so far ("based on N
// samples"). bumps' command line takes no abort test from outside, so
// every bumps process starts through bootScript, whose stopHook adds to
// the abort test that bumps.cli.main gives the driver a look for the file
// stopName in the job's temp dir; the root side makes that file, through
// the one door, when the job is asked to stop.
const stopName = "bumpserve-stop"

// bumpsDefaultBurn is bumps 0.9's DREAM burn-in when --burn is not given.
const bumpsDefaultBurn = 100

// stopHook wraps bumps.cli's FitDriver so that its abort test also says
// yes once the file named by BUMPSERVE_STOP exists (one stat a fitter
// step). One line: it is shown in the job's log.
const stopHook = `import os, bumps.cli; F, s = bumps.cli.FitDriver, os.environ["BUMPSERVE_STOP"]; ` +
	`bumps.cli.FitDriver = lambda *a, abort_test=None, **k: F(*a, abort_test=(lambda t: lambda: t() or os.path.exists(s))(abort_test or (lambda: False)), **k); `

// bootScript is the Python program every bumps process runs (python3 -c)
// before bumps' command line, bumps.cli.main (what /usr/bin/bumps runs):
// the stop hook, and for MPI ranks the repair mpiRepair describes. It
// names the program DefaultBumpsPath, not "-c", so that the command line
// bumps echoes first in its output is a hand run's.
func bootScript(mpi bool) string {
	boot := `import sys; sys.argv[0] = "` + DefaultBumpsPath + `"; ` + stopHook
	if mpi {
		boot += mpiRepair
	}
	return boot + "bumps.cli.main()"
}

// stopWatch delivers a stop request to a running bumps process.
type stopWatch struct {
	env  *Env
	sent atomic.Bool // the stop file was made: the results are marked stopped
}

// clear removes a stop file an earlier attempt's run left in the temp
// dir; the request itself, if any, is still in the job's directory and
// arrives again through watch.
func (w *stopWatch) clear() error {
	if err := jobfs.MkdirAll(w.env.Temp, 0o755); err != nil {
		return fmt.Errorf("prepare temp dir: %w", err)
	}
	return jobfs.RemoveAll(w.env.Temp, stopName)
}

// watch makes the stop file once the job is asked to stop (stop closes),
// unless done closes first.
func (w *stopWatch) watch(stop, done <-chan struct{}) {
	guard.Go(slog.Default(), "bumps stop watch", func() {
		select {
		case <-done:
			return
		case <-stop:
		}
		// O_EXCL: a name the job made itself already says stop, or is a
		// link the job's own abort test follows; nothing of the host is
		// written through it.
		err := jobfs.WriteFile(w.env.Temp, stopName, []byte("stop\n"), 0o644)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			fmt.Fprintf(w.env.Log, "bumps: the stop request could not be passed on: %v\n", err)
			return
		}
		w.sent.Store(true)
		fmt.Fprintln(w.env.Log, "bumps: stop requested: the fitter ends at its next step and bumps reports what it has")
	})
}
