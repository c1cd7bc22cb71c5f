package version

import (
	"runtime"
	"runtime/debug"
)

// Info describes the running build in full, for `bumpserve version` and
// for anything that records which code made a result.
type Info struct {
	Version       string `json:"version"`                  // String(): the release, with the commit for development builds
	Module        string `json:"module"`                   // module path
	ModuleVersion string `json:"module_version,omitempty"` // the Go toolchain's version of the main module, e.g. v0.0.0-2026…-1a2b3c4d5e6f+dirty or (devel)
	Commit        string `json:"commit,omitempty"`         // VCS revision, when built inside a checkout
	CommitTime    string `json:"commit_time,omitempty"`
	Dirty         bool   `json:"dirty"` // the checkout had uncommitted changes
	Go            string `json:"go"`    // Go toolchain version
}

// Get returns the running binary's build information. Builds without
// embedded information still report the version and the Go version.
func Get() Info {
	info := Info{Version: String(), Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	info.Commit, info.Dirty = revision(bi)
	if !ok {
		return info
	}
	info.Module, info.ModuleVersion = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.time" {
			info.CommitTime = s.Value
		}
	}
	return info
}
