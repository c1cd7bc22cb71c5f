package postgres_test

import (
	"context"
	"testing"

	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/store/postgres/pgtest"
	"github.com/bumpserve/bumpserve/internal/store/storetest"
)

// open opens a store on a fresh database.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	return openURL(t, pgtest.URL(t))
}

func openURL(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return open(t) })
}
