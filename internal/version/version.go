// Package version holds bumpserve's version, recorded in every result so
// that a fit can be repeated with the same code.
package version

import (
	"runtime/debug"
	"sync"
)

// Version is the release; builds set it with
//
//	go build -ldflags "-X github.com/bumpserve/bumpserve/internal/version.Version=1.2.3" ./cmd/bumpserve
var Version = "0.1.0-dev"

// Commit and Dirty name the VCS commit a build came from when the Go
// toolchain did not embed it: builds here run with -buildvcs=false (and
// from a copy without .git there is nothing to embed), so `make build`
// sets them:
//
//	-ldflags "-X github.com/bumpserve/bumpserve/internal/version.Commit=$(git rev-parse HEAD) -X ...Dirty=true"
//
// The toolchain's own record, when there is one, wins.
var Commit, Dirty string

// revision is the build's commit and whether its checkout had changes.
func revision(info *debug.BuildInfo) (rev string, dirty bool) {
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev, dirty = Commit, Dirty == "true"
	}
	return rev, dirty
}

// String is Version, followed for development builds by the VCS revision
// Go embedded in the binary (and "+dirty" for uncommitted changes), which
// pins the code a result came from when there is no release number.
var String = sync.OnceValue(func() string {
	v := Version
	info, _ := debug.ReadBuildInfo()
	rev, dirty := revision(info)
	if rev != "" && len(v) > 4 && v[len(v)-4:] == "-dev" {
		v += "+" + rev[:min(12, len(rev))]
		if dirty {
			v += ".dirty"
		}
	}
	return v
})
