package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AllowSubmit implements store.SubmitLimiter: one upsert takes a token
// from key's bucket if it holds one after refilling for the time since
// its last use, on the database's clock (controllers' clocks may differ).
// The row lock makes concurrent submissions through any controllers
// count one after another.
func (s *Store) AllowSubmit(ctx context.Context, key string, perSecond float64, burst int) (bool, error) {
	var left float64
	err := s.pool.QueryRow(ctx, `
INSERT INTO submit_buckets AS b (key, tokens, at) VALUES ($1, $2::float8 - 1, now())
ON CONFLICT (key) DO UPDATE SET
	tokens = LEAST($2::float8, b.tokens + GREATEST(EXTRACT(EPOCH FROM now() - b.at)::float8, 0) * $3::float8) - 1,
	at = GREATEST(now(), b.at)
WHERE LEAST($2::float8, b.tokens + GREATEST(EXTRACT(EPOCH FROM now() - b.at)::float8, 0) * $3::float8) >= 1
RETURNING tokens`, key, float64(burst), perSecond).Scan(&left)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // the bucket is empty: the update's WHERE refused
	}
	if err = s.check(err, nil); err != nil {
		return false, fmt.Errorf("submission rate of %s: %w", key, err)
	}
	return true, nil
}
