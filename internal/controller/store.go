package controller

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// StoreOptions tune OpenStore.
type StoreOptions struct {
	FullSync     bool        // SQLite: synchronous=FULL
	OnWriteError func(error) // SQLite: hears of failed writes (a full disk)
	Logger       *slog.Logger
}

// OpenStore opens the store that url names: "" is SQLite at
// DATA/bumpserve.db (the embedded default), postgres://… a PostgreSQL
// database that several controllers may share. The engine is chosen by
// the URL alone.
func OpenStore(ctx context.Context, data, url string, opt StoreOptions) (store.Store, error) {
	switch {
	case url == "":
		return sqlite.Open(ctx, filepath.Join(data, "bumpserve.db"), sqlite.Options{FullSync: opt.FullSync, OnWriteError: opt.OnWriteError})
	case postgres.IsURL(url):
		return postgres.Open(ctx, url, postgres.Options{Logger: opt.Logger})
	}
	scheme, _, _ := strings.Cut(url, ":")
	return nil, fmt.Errorf("store: %q is not a store URL (accepted: postgres://USER:PASSWORD@HOST:PORT/DB, or none for SQLite in --data)", scheme+":…")
}

// Shared reports whether st may be shared with other controllers (it
// tells of their changes).
func Shared(st store.Store) bool {
	_, ok := st.(store.ChangeFeed)
	return ok
}

// leading wraps a duty that one controller at a time must run (the lease
// reaper): on a shared store it runs only while this controller holds the
// store's lock for it, and another takes over when this one dies; on a
// store of its own it simply runs.
func (c *Controller) leading(name string, duty func(context.Context)) func(context.Context) {
	l, ok := c.Store.(store.Leader)
	if !ok {
		return duty
	}
	return func(ctx context.Context) { l.Lead(ctx, name, duty) }
}
