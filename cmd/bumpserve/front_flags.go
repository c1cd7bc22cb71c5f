package main

import (
	"flag"
	"log/slog"

	"github.com/bumpserve/bumpserve/internal/sdnotify"
	"github.com/bumpserve/bumpserve/internal/server"
)

// frontFlags place `serve` behind a site's reverse proxy (docs/deploy.md).
type frontFlags struct {
	basePath, trusted, remoteUser string
	autoCreate                    bool
}

func (f *frontFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.basePath, "base-path", "", "serve everything under this path (e.g. /queue, as a proxy passes it through); /healthz also answers at the root")
	fs.StringVar(&f.trusted, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto/-Host (and --remote-user-header) are believed; from anyone else those headers are refused")
	fs.StringVar(&f.remoteUser, "remote-user-header", "", "header in which a trusted proxy names the user its login authenticated (e.g. X-Remote-User); that user is signed in for pages and API")
	fs.BoolVar(&f.autoCreate, "auto-create-users", false, "with --remote-user-header: create a user seen for the first time")
}

// front checks the flags; a mistake stops the start with exit code 2.
func (f *frontFlags) front() (server.Front, error) {
	proxies, err := server.ParseProxies(f.trusted)
	if err != nil {
		return server.Front{}, usagef("%v", err)
	}
	fr := server.Front{BasePath: f.basePath, TrustedProxies: proxies, RemoteUserHeader: f.remoteUser, AutoCreateUsers: f.autoCreate}
	if err := fr.Check(); err != nil {
		return server.Front{}, usagef("%v", err)
	}
	return fr, nil
}

// notifier tells the service manager (systemd's NOTIFY_SOCKET, if set)
// the service's state; a failure is logged, as the service itself is fine.
func notifier(log *slog.Logger) func(string) {
	return func(state string) {
		if err := sdnotify.Notify(state); err != nil {
			log.Warn("tell the service manager", "state", state, "err", err)
		}
	}
}
