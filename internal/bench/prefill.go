package bench

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
	"github.com/bumpserve/bumpserve/internal/store/sqlite"
)

// prefillOwner owns the prefilled jobs, so they never share a queue
// with the measured ones.
const prefillOwner = "prefill"

// prefill puts n finished (COMPLETE) jobs into the store at path, through
// the store's own batch transitions, and returns the last id used. The
// jobs have no directories: what is measured is the store's cost.
func prefill(ctx context.Context, path string, n int, full bool) (int64, error) {
	st, err := sqlite.Open(ctx, path, sqlite.Options{FullSync: full})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return prefillStore(ctx, st, n)
}

// prefillStore puts n finished jobs into st and returns the last id used.
func prefillStore(ctx context.Context, st store.Store, n int) (int64, error) {
	const batch = 1000
	var last int64
	for done := 0; done < n; {
		k := min(batch, n-done)
		now := time.Now()
		ps := make([]*store.CreateJobParams, k)
		for i := range ps {
			ps[i] = &store.CreateJobParams{Owner: prefillOwner, Service: "sleep", Spec: json.RawMessage(`{"seconds":0}`), MaxAttempts: 1, Now: now}
		}
		if _, err := st.CreateJobs(ctx, ps); err != nil {
			return 0, err
		}
		js, err := st.ClaimJobs(ctx, &store.ClaimParams{Worker: "prefill", FreeCPUs: k, Max: k, Lease: time.Hour, Now: now})
		if err != nil {
			return 0, err
		}
		fs := make([]*store.FinishParams, len(js))
		for i, j := range js {
			fs[i] = &store.FinishParams{ID: j.ID, Token: j.Lease.Token, State: job.Complete, Result: json.RawMessage(`{"slept":0}`), Now: now}
			last = max(last, j.ID)
		}
		if _, err := st.FinishJobs(ctx, fs); err != nil {
			return 0, err
		}
		done += k
	}
	return last, nil
}

// prefillData prefills the store a run's controller will open: SQLite
// in data, or the database at storeURL.
func prefillData(ctx context.Context, data, storeURL string, cfg Config) (int64, error) {
	if storeURL == "" {
		return prefill(ctx, filepath.Join(data, "bumpserve.db"), cfg.Prefill, cfg.FullSync)
	}
	st, err := postgres.Open(ctx, storeURL, postgres.Options{Logger: quiet})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return prefillStore(ctx, st, cfg.Prefill)
}
