package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// owner is one user's standing in a claim: their share score and the
// pending jobs of theirs looked at so far.
type owner struct {
	name    string
	score   float64
	running int // ACTIVE jobs
	jobs    []pendingJob
	next    int
	done    bool
}

type pendingJob struct {
	id   int64
	cpus int
}

// ClaimJobs implements store.JobStore with fair share: it serves the
// owner with the lowest score first (CPUs running plus decayed past
// usage), one job at a time, re-scoring after each, so a user with a
// thousand queued jobs cannot starve one with a single job. Within an
// owner, higher priority and then older jobs go first.
func (s *Store) ClaimJobs(ctx context.Context, p *store.ClaimParams) ([]*job.Job, error) {
	if p.Max <= 0 || p.FreeCPUs <= 0 {
		return nil, nil
	}
	var claimed []*job.Job
	err := s.tx(ctx, func(tx *wtx) error {
		owners, err := s.rankOwners(ctx, tx, p)
		if err != nil || len(owners) == 0 {
			return err
		}
		free := p.FreeCPUs
		for len(claimed) < p.Max && free > 0 {
			o := lowest(owners, p.MaxRunning)
			if o == nil {
				break
			}
			j, err := o.take(ctx, tx, p, free)
			if err != nil {
				return err
			}
			if j == nil {
				o.done = true
				continue
			}
			c, err := scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, state = 'ACTIVE', worker = ?, worker_user = ?,
				lease_token = ?, lease_expires = ?, started = ?, progress = NULL, cancel_requested = 0
				WHERE id = ? RETURNING `+jobColumns,
				p.Worker, p.WorkerUser, newToken(), nanos(p.Now.Add(p.Lease)), nanos(p.Now), j.id))
			if err != nil {
				return err
			}
			claimed = append(claimed, c)
			free -= j.cpus
			o.running++
			o.score += float64(j.cpus)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return claimed, nil
}

// rankOwners scores every owner with pending jobs.
func (s *Store) rankOwners(ctx context.Context, tx *wtx, p *store.ClaimParams) ([]*owner, error) {
	rows, err := tx.QueryContext(ctx, `SELECT owner FROM pending_counts WHERE n > 0`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*owner{}
	var owners []*owner
	for rows.Next() {
		o := &owner{}
		if err := rows.Scan(&o.name); err != nil {
			rows.Close()
			return nil, err
		}
		byName[o.name] = o
		owners = append(owners, o)
	}
	rows.Close()
	if len(owners) <= 1 && p.MaxRunning == 0 {
		return owners, nil // nobody to share with: skip the scoring
	}
	rows, err = tx.QueryContext(ctx, `SELECT owner, count(*), sum(cpus) FROM jobs WHERE state = 'ACTIVE' GROUP BY owner`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		var n, cpus int
		if err := rows.Scan(&name, &n, &cpus); err != nil {
			rows.Close()
			return nil, err
		}
		if o := byName[name]; o != nil {
			o.running, o.score = n, float64(cpus)
		}
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT owner, value, updated FROM usage`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var value float64
		var updated int64
		if err := rows.Scan(&name, &value, &updated); err != nil {
			return nil, err
		}
		if o := byName[name]; o != nil {
			o.score += decay(value, fromNanos(updated), p.Now, p.HalfLife) / store.UsageScale
		}
	}
	// Ties go to the owner whose name sorts first, so claims are
	// deterministic.
	sort.SliceStable(owners, func(i, j int) bool { return owners[i].name < owners[j].name })
	return owners, rows.Err()
}

// lowest is the owner to serve next, or nil.
func lowest(owners []*owner, maxRunning int) *owner {
	var best *owner
	for _, o := range owners {
		if o.done || (maxRunning > 0 && o.running >= maxRunning) {
			continue
		}
		if best == nil || o.score < best.score {
			best = o
		}
	}
	return best
}

// take returns the owner's next pending job that fits free CPUs and the
// worker's services, or nil. One page of candidates per owner and claim
// suffices: a claim never takes more jobs than the page holds.
func (o *owner) take(ctx context.Context, tx *wtx, p *store.ClaimParams, free int) (*pendingJob, error) {
	if o.jobs == nil {
		q := `SELECT id, cpus FROM jobs WHERE state = 'PENDING' AND held = 0 AND owner = ? AND cpus <= ?`
		args := []any{o.name, p.FreeCPUs}
		if len(p.Services) > 0 {
			q += ` AND service IN (?` + strings.Repeat(",?", len(p.Services)-1) + `)`
			for _, svc := range p.Services {
				args = append(args, svc)
			}
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY priority DESC, id LIMIT ?`, append(args, p.Max)...)
		if err != nil {
			return nil, err
		}
		o.jobs = []pendingJob{}
		for rows.Next() {
			var j pendingJob
			if err := rows.Scan(&j.id, &j.cpus); err != nil {
				rows.Close()
				return nil, err
			}
			o.jobs = append(o.jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for o.next < len(o.jobs) {
		j := o.jobs[o.next]
		o.next++
		if j.cpus <= free {
			return &j, nil
		}
	}
	return nil, nil
}

// decay returns value recorded at then, decayed to now with halfLife
// (no decay when halfLife is 0).
func decay(value float64, then, now time.Time, halfLife time.Duration) float64 {
	if halfLife <= 0 || !now.After(then) {
		return value
	}
	return value * math.Exp2(-now.Sub(then).Seconds()/halfLife.Seconds())
}

// FinishJob implements store.JobStore.
func (s *Store) FinishJob(ctx context.Context, p *store.FinishParams) (*job.Job, error) {
	rs, err := s.FinishJobs(ctx, []*store.FinishParams{p})
	if err != nil {
		return nil, err
	}
	return rs[0].Job, rs[0].Err
}

// FinishJobs implements store.JobStore: one transaction ends the jobs
// and charges each owner's usage with the CPU-seconds the runs took, in
// one statement per owner and time of finish rather than one per job (a
// busy queue finishes many jobs of one owner at once).
func (s *Store) FinishJobs(ctx context.Context, ps []*store.FinishParams) ([]store.FinishResult, error) {
	for _, p := range ps {
		if !p.State.Terminal() {
			return nil, fmt.Errorf("finish job %d: %s is not a terminal state", p.ID, p.State)
		}
	}
	out := make([]store.FinishResult, len(ps))
	err := s.tx(ctx, func(tx *wtx) error {
		var charges []charge
		for i, p := range ps {
			r := &out[i]
			*r = store.FinishResult{}
			r.Job, r.Err = finish(ctx, tx, p)
			if r.Err != nil && r.Err != store.ErrLeaseLost {
				return r.Err
			}
			if r.Err == nil && r.Job.Started != nil {
				charges = addCharge(charges, r.Job, p)
			}
		}
		for _, c := range charges {
			if err := c.record(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish job: %w", err)
	}
	return out, nil
}

// finish ends one job, or reports store.ErrLeaseLost having changed
// nothing.
func finish(ctx context.Context, tx *wtx, p *store.FinishParams) (*job.Job, error) {
	j, err := scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET version = version + 1, state = ?, reason = ?, result = ?,
		protections = ?, finished = ?, lease_token = NULL, lease_expires = NULL
		WHERE id = ? AND state = 'ACTIVE' AND lease_token = ? RETURNING `+jobColumns,
		string(p.State), p.Reason, nullString(p.Result), strings.Join(p.Protections, ","), nanos(p.Now), p.ID, p.Token))
	if err == sql.ErrNoRows {
		return nil, store.ErrLeaseLost
	}
	return j, err
}

// charge is what one owner's runs used, all ended at one time: decaying
// the sum once is decaying each run's share and adding them.
type charge struct {
	owner    string
	now      time.Time
	halfLife time.Duration
	used     float64 // CPU-seconds
}

// addCharge adds what j's run used to its owner's charge at p.Now.
func addCharge(cs []charge, j *job.Job, p *store.FinishParams) []charge {
	used := float64(j.CPUs) * p.Now.Sub(*j.Started).Seconds()
	for i := range cs {
		if c := &cs[i]; c.owner == j.Owner && c.now.Equal(p.Now) && c.halfLife == p.HalfLife {
			c.used += used
			return cs
		}
	}
	return append(cs, charge{owner: j.Owner, now: p.Now, halfLife: p.HalfLife, used: used})
}

// record decays the owner's usage to the charge's time, then adds it: one
// statement (pow is SQLite's), as decay computes it.
func (c charge) record(ctx context.Context, tx *wtx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO usage (owner, value, updated) VALUES (?, ?, ?)
		ON CONFLICT (owner) DO UPDATE SET updated = excluded.updated, value = excluded.value +
			CASE WHEN ? > 0 AND excluded.updated > usage.updated
			     THEN usage.value * pow(2, -(excluded.updated - usage.updated) / ?) ELSE usage.value END`,
		c.owner, c.used, nanos(c.now), c.halfLife.Nanoseconds(), float64(c.halfLife.Nanoseconds()))
	return err
}
