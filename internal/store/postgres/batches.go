package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// held is the condition of every write made under a lease.
const held = ` WHERE id = $1 AND state = 'ACTIVE' AND lease_token = $2`

// Heartbeat implements store.JobStore.
func (s *Store) Heartbeat(ctx context.Context, p *store.HeartbeatParams) (bool, *job.Job, error) {
	rs, err := s.Heartbeats(ctx, []*store.HeartbeatParams{p})
	if err != nil {
		return false, nil, err
	}
	return rs[0].Cancel, rs[0].Job, rs[0].Err
}

// Heartbeats implements store.JobStore: one transaction, its updates
// sent together. A lost lease matches no row, which fails that item and
// leaves the transaction going.
func (s *Store) Heartbeats(ctx context.Context, ps []*store.HeartbeatParams) ([]store.HeartbeatResult, error) {
	var b pgx.Batch
	for i, p := range ps {
		expires := p.Now.Add(p.Lease)
		if p.Progress == nil {
			b.Queue(`UPDATE jobs SET lease_expires = $3`+held+` RETURNING cancel_requested`, p.ID, p.Token, expires)
			continue
		}
		progress, err := json.Marshal(p.Progress)
		if err != nil {
			return nil, fmt.Errorf("heartbeat: jobs[%d] progress: %w", i, err)
		}
		b.Queue(`UPDATE jobs SET version = version + 1, lease_expires = $3, progress = $4`+held+` RETURNING `+jobColumns,
			p.ID, p.Token, expires, string(progress))
	}
	out := make([]store.HeartbeatResult, len(ps))
	err := s.tx(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		defer br.Close()
		for i, p := range ps {
			r := &out[i]
			*r = store.HeartbeatResult{}
			var err error
			if p.Progress == nil {
				err = br.QueryRow().Scan(&r.Cancel)
			} else if r.Job, err = scanJob(br.QueryRow()); err == nil {
				r.Cancel = r.Job.CancelRequested
			}
			if r.Err = leaseLost(err); r.Err != nil && r.Err != store.ErrLeaseLost {
				return r.Err
			}
		}
		return br.Close()
	})
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	return out, nil
}

// FinishJob implements store.JobStore.
func (s *Store) FinishJob(ctx context.Context, p *store.FinishParams) (*job.Job, error) {
	rs, err := s.FinishJobs(ctx, []*store.FinishParams{p})
	if err != nil {
		return nil, err
	}
	return rs[0].Job, rs[0].Err
}

// FinishJobs implements store.JobStore: one transaction ends the jobs,
// then charges each owner's usage with the CPU-seconds its runs took.
// The charge is an upsert that decays and adds in SQL, so that two
// controllers finishing one owner's jobs at once both count; the charges
// go in owner order, so two batches lock the usage rows in the same
// order and cannot deadlock on them.
func (s *Store) FinishJobs(ctx context.Context, ps []*store.FinishParams) ([]store.FinishResult, error) {
	for _, p := range ps {
		if !p.State.Terminal() {
			return nil, fmt.Errorf("finish job %d: %s is not a terminal state", p.ID, p.State)
		}
	}
	var b pgx.Batch
	for _, p := range ps {
		b.Queue(`UPDATE jobs SET version = version + 1, state = $3, reason = $4, result = $5,
			protections = $6, finished = $7, lease_token = NULL, lease_expires = NULL`+held+` RETURNING `+jobColumns,
			p.ID, p.Token, string(p.State), p.Reason, text(p.Result), strings.Join(p.Protections, ","), p.Now)
	}
	out := make([]store.FinishResult, len(ps))
	err := s.tx(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		for i := range ps {
			r := &out[i]
			*r = store.FinishResult{}
			j, err := scanJob(br.QueryRow())
			if err = leaseLost(err); err != nil && err != store.ErrLeaseLost {
				br.Close()
				return err
			}
			r.Job, r.Err = j, err
		}
		if err := br.Close(); err != nil {
			return err
		}
		return s.charge(ctx, tx, ps, out)
	})
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("finish job: %w", err)
	}
	return out, nil
}

// charge adds to each owner's usage what the finished runs used.
func (s *Store) charge(ctx context.Context, tx pgx.Tx, ps []*store.FinishParams, done []store.FinishResult) error {
	var order []int
	for i, r := range done {
		if r.Err == nil && r.Job.Started != nil {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return nil
	}
	sort.SliceStable(order, func(a, b int) bool { return done[order[a]].Job.Owner < done[order[b]].Job.Owner })
	var b pgx.Batch
	for _, i := range order {
		j, p := done[i].Job, ps[i]
		used := float64(j.CPUs) * p.Now.Sub(*j.Started).Seconds()
		b.Queue(`INSERT INTO usage AS u (owner, value, updated) VALUES ($3, $4, $1)
			ON CONFLICT (owner) DO UPDATE SET value = `+decayed+` + excluded.value, updated = greatest(u.updated, excluded.updated)`,
			p.Now, p.HalfLife.Seconds(), j.Owner, used)
	}
	return tx.SendBatch(ctx, &b).Close()
}
