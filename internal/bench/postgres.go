package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/store/postgres"
)

// scratchDatabase creates an empty database on the server of base (its
// role needs CREATEDB), so that every run starts from an empty store
// whatever ran before, and returns its URL and how to drop it.
func scratchDatabase(ctx context.Context, base string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("store: connect to %s: %w", postgres.Redact(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "bumpserve_bench_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, fmt.Errorf("store: the bench creates a scratch database per run and could not (its role needs CREATEDB): %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`)
			conn.Close(ctx)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("store: %w", err)
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// baselinePostgresInserts measures single-row insert transactions per
// second through the PostgreSQL store, one after another, in a scratch
// database: the cost floor of one durable transition there (a round
// trip and a WAL flush).
func baselinePostgresInserts(ctx context.Context, base string) (float64, error) {
	u, drop, err := scratchDatabase(ctx, base)
	if err != nil {
		return 0, err
	}
	defer drop()
	st, err := postgres.Open(ctx, u, postgres.Options{Logger: quiet})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return timeInserts(ctx, st)
}
