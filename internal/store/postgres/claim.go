package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/store"
)

// decayed is an owner's usage decayed to $1 with a half-life of $2
// seconds (none when $2 is 0), in the units of fair share.
const decayed = `CASE WHEN $2::float8 > 0 AND $1::timestamptz > u.updated
	THEN u.value * power(2, -extract(epoch FROM $1::timestamptz - u.updated) / $2::float8) ELSE u.value END`

// candidates lists, for every owner with pending jobs, that owner's next
// jobs in queue order (up to $4, those of at most $3 CPUs, of services $5
// or any when NULL), each with its share key: the owner's score (CPUs
// running plus decayed past usage over UsageScale) plus the CPUs of the
// owner's jobs ahead of it. Serving candidates by key is serving the
// lowest-scored owner one job at a time, re-scoring after each, so a user
// with a thousand queued jobs cannot starve one with a single job. $6
// caps one owner's running jobs (0: no cap). The owners are found by
// skipping through the pending index one owner at a time, so the cost
// grows with the number of owners, not of queued jobs.
var candidates = `WITH RECURSIVE owners AS (
		(SELECT owner FROM jobs WHERE state = 'PENDING' ORDER BY owner LIMIT 1)
		UNION ALL
		SELECT (SELECT j.owner FROM jobs j WHERE j.state = 'PENDING' AND j.owner > o.owner ORDER BY j.owner LIMIT 1)
		FROM owners o WHERE o.owner IS NOT NULL
	), running AS (
		SELECT owner, count(*) AS n, sum(cpus) AS cpus FROM jobs WHERE state = 'ACTIVE' GROUP BY owner
	)
	SELECT c.id, c.cpus FROM owners o
	LEFT JOIN running r ON r.owner = o.owner
	LEFT JOIN usage u ON u.owner = o.owner
	CROSS JOIN LATERAL (
		SELECT id, cpus, row_number() OVER w AS rank, coalesce(sum(cpus) OVER w, 0) - cpus AS ahead FROM (
			SELECT id, cpus, priority FROM jobs
			WHERE state = 'PENDING' AND NOT held AND owner = o.owner AND cpus <= $3 AND ($5::text[] IS NULL OR service = ANY($5))
			ORDER BY priority DESC, id LIMIT $4) p
		WINDOW w AS (ORDER BY priority DESC, id)
	) c
	WHERE o.owner IS NOT NULL AND ($6 = 0 OR coalesce(r.n, 0) + c.rank <= $6)
	ORDER BY coalesce(r.cpus, 0) + coalesce(` + decayed + `, 0) / ` + fmt.Sprint(store.UsageScale) + ` + c.ahead, o.owner, c.rank`

// lockFirst locks, in the order given, the first $2 of the jobs $1 that
// are still pending and that no other claim has locked; it locks no
// more than it returns.
const lockFirst = `SELECT id FROM jobs WHERE id = ANY($1) AND state = 'PENDING' AND NOT held
	ORDER BY array_position($1, id) LIMIT $2 FOR UPDATE SKIP LOCKED`

// Claims running at the same moment rank the same jobs first: each looks
// at spare candidates beyond its own Max, so that one finding the first
// ones locked takes the next; and if every candidate was locked, it looks
// again (those claims have committed by then) rather than report an empty
// queue that is not.
const (
	spareCandidates = 32
	claimTries      = 4
)

// ClaimJobs implements store.JobStore. It ranks the candidates, locks
// them with FOR UPDATE SKIP LOCKED (a job another controller is claiming
// right now is passed over, not waited for) and takes, in rank order,
// those that fit the free CPUs.
func (s *Store) ClaimJobs(ctx context.Context, p *store.ClaimParams) ([]*job.Job, error) {
	if p.Max <= 0 || p.FreeCPUs <= 0 {
		return nil, nil
	}
	var claimed []*job.Job
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if p.MaxRunning > 0 {
			// Counting an owner's running jobs and starting more must not
			// interleave with another controller's claim, or both stay
			// under the cap and together pass it.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('bumpserve'), hashtext(current_schema() || ':claim'))`); err != nil {
				return err
			}
		}
		var err error
		for range claimTries {
			var contended bool
			if claimed, contended, err = s.claimOnce(ctx, tx, p); err != nil || !contended {
				return err
			}
		}
		return nil
	})
	if err = s.check(err, nil); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return claimed, nil
}

// claimOnce is one try of ClaimJobs; contended reports that there were
// candidates but other claims held every one.
func (s *Store) claimOnce(ctx context.Context, tx pgx.Tx, p *store.ClaimParams) (claimed []*job.Job, contended bool, err error) {
	var services []string
	if len(p.Services) > 0 {
		services = p.Services
	}
	rows, err := tx.Query(ctx, candidates, p.Now, p.HalfLife.Seconds(), p.FreeCPUs, p.Max+spareCandidates, services, p.MaxRunning)
	if err != nil {
		return nil, false, err
	}
	var ids []int64
	cpus := map[int64]int{}
	var id int64
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { ids = append(ids, id); cpus[id] = n; return nil }); err != nil {
		return nil, false, err
	}
	if len(ids) == 0 {
		return nil, false, nil
	}
	rows, err = tx.Query(ctx, lockFirst, ids, p.Max)
	if err != nil {
		return nil, false, err
	}
	var take []int64
	var tokens []string
	free := p.FreeCPUs
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
		if cpus[id] <= free {
			take, tokens = append(take, id), append(tokens, newToken())
			free -= cpus[id]
		}
		return nil
	}); err != nil {
		return nil, false, err
	}
	if len(take) == 0 {
		return nil, true, nil
	}
	js, err := scanJobs(tx.Query(ctx, `UPDATE jobs SET version = version + 1, state = 'ACTIVE', worker = $1, worker_user = $2,
		lease_token = t.token, lease_expires = $3, started = $4, progress = NULL, cancel_requested = false
		FROM unnest($5::bigint[], $6::text[]) AS t(id, token) WHERE jobs.id = t.id
		RETURNING `+qualified("jobs", jobColumns), p.Worker, p.WorkerUser, p.Now.Add(p.Lease), p.Now, take, tokens))
	if err != nil {
		return nil, false, err
	}
	byID := map[int64]*job.Job{}
	for _, j := range js {
		byID[j.ID] = j
	}
	for _, id := range take {
		claimed = append(claimed, byID[id])
	}
	return claimed, false, nil
}

// qualified prefixes each of the columns with table, for queries whose
// FROM names another relation with the same column names.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
