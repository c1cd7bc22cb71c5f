package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/service"
)

// EndlessBumpsFit is a Bumps DE fit of a line whose every evaluation
// burns about 2 ms (internal/service/testdata/bumps/slow.py), with
// tolerances 0 so that it never ends by itself: only a stop or a cancel
// ends it. It skips (fails under CI) without Debian's bumps.
func EndlessBumpsFit(t testing.TB) (client.Submission, []client.Upload) {
	t.Helper()
	_, err := os.Stat(service.DefaultBumpsPath)
	Need(t, err == nil, "bumps: "+service.DefaultBumpsPath+" missing (apt-get install python3-bumps)")
	_, self, _, _ := runtime.Caller(0)
	models := filepath.Join(filepath.Dir(self), "..", "service", "testdata", "bumps")
	return client.Submission{Service: "bumps", Spec: json.RawMessage(`{"model":"slow.py","fitter":"de","options":{"steps":100000,"seed":1,"xtol":0,"ftol":0}}`)},
		[]client.Upload{{Name: "slow.py", Path: filepath.Join(models, "slow.py")}, {Name: "linefn.py", Path: filepath.Join(models, "linefn.py")}}
}
