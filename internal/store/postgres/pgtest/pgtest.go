// Package pgtest gives tests a PostgreSQL database of their own on the
// cluster named by BUMPSERVE_TEST_POSTGRES (scripts/postgres-start prints
// that URL), created with a random name and dropped when the test ends.
// Without the variable tests skip, except under CI=true, where they fail
// saying how to start it: in CI a missing component is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the cluster's URL.
const Env = "BUMPSERVE_TEST_POSTGRES"

const howToStart = Env + " is not set: start PostgreSQL 15 and point the tests at it with\n" +
	"\texport " + Env + "=$(scripts/postgres-start | tail -n 1)\n(as root; .ci/run does this)"

// Base returns the cluster's URL, or skips t (fails it under CI=true).
func Base(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(howToStart)
		}
		t.Skip(howToStart)
	}
	return base
}

// URL creates an empty database and returns its URL; it is dropped, with
// any connection still open to it, when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := Base(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s (%s): %v", Env, redacted(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "bumpserve_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { drop(t, base, name) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	u.Path = "/" + name
	return u.String()
}

// drop removes the database, with whatever is still connected to it. A
// backend that is just starting or ending (an autovacuum worker, a pool's
// last connection) can make one attempt fail, so it tries again for a while
// and reports the last error.
func drop(t testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("drop test database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	for {
		_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("drop test database %s: %v (scripts/postgres-start grants the test role pg_signal_backend, which this needs)", name, err)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
