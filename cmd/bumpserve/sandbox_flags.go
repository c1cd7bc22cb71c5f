package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/bumpserve/bumpserve/internal/confine"
	"github.com/bumpserve/bumpserve/internal/sandbox"
	"github.com/bumpserve/bumpserve/internal/service"
)

// sandboxFlags configure the confinement of job processes, shared by
// serve (local slots) and worker.
type sandboxFlags struct {
	enabled bool
	uids    string
	require string
	paths   string
}

func (f *sandboxFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.enabled, "sandbox", true, "confine job processes (Landlock, seccomp, rlimits; as root also a uid per job, namespaces, cgroups)")
	fs.StringVar(&f.uids, "sandbox-uids", fmt.Sprintf("%d-%d", sandbox.UIDsDefault[0], sandbox.UIDsDefault[1]),
		"as root: the user ids for running jobs, FIRST-LAST; claimed by this process (a lock in /run/bumpserve/uids), so each process on a host needs its own range")
	fs.StringVar(&f.require, "sandbox-require", "", "refuse to run jobs without these protections: basic, strict, or a comma-separated list")
	fs.StringVar(&f.paths, "sandbox-paths", "", "extra read-only paths for jobs, comma-separated")
}

// runner builds the sandbox, or returns nil when it is disabled.
func (f *sandboxFlags) runner(log *slog.Logger) (service.Runner, error) {
	if !f.enabled {
		log.Warn("job processes run unconfined (--sandbox=false)")
		return nil, nil
	}
	var cfg sandbox.Config
	if _, err := fmt.Sscanf(f.uids, "%d-%d", &cfg.UIDs[0], &cfg.UIDs[1]); err != nil || cfg.UIDs[0] < 1 || cfg.UIDs[1] < cfg.UIDs[0] {
		return nil, usagef("sandbox-uids: %q is not a range FIRST-LAST of positive user ids", f.uids)
	}
	cfg.Require = splitList(f.require)
	cfg.SystemPaths = splitList(f.paths)
	cfg.Logger = log
	cfg.UIDsName = "--sandbox-uids"
	sb, err := sandbox.New(cfg)
	if err != nil {
		return nil, usagef("%v", err)
	}
	log.Info("job processes are confined", "protections", strings.Join(sb.Available(), ","))
	return confine.New(sb), nil
}

// closeRunner gives back what the sandbox holds on the host (its uid
// range, its cgroups) once the process's jobs have ended.
func closeRunner(r service.Runner) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
