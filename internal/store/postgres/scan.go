package postgres

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bumpserve/bumpserve/internal/job"
)

// jobColumns is the column list every job query returns, in scanJob's order.
const jobColumns = `id, owner, name, service, spec, cpus, priority, state, reason, attempt,
	max_attempts, worker, lease_token, lease_expires, cancel_requested, progress, result,
	protections, submitted, started, finished, worker_user, version, keep, disk_bytes, parent, series, held`

func scanJob(row pgx.Row) (*job.Job, error) {
	var (
		j                                     job.Job
		spec                                  string
		leaseToken, progress, result, protect *string
		leaseExpires, started, finished       *time.Time
		parent                                *int64
		series                                *string
	)
	err := row.Scan(&j.ID, &j.Owner, &j.Name, &j.Service, &spec, &j.CPUs, &j.Priority, &j.State,
		&j.Reason, &j.Attempt, &j.MaxAttempts, &j.Worker, &leaseToken, &leaseExpires, &j.CancelRequested,
		&progress, &result, &protect, &j.Submitted, &started, &finished, &j.WorkerUser, &j.Version, &j.Keep, &j.DiskBytes,
		&parent, &series, &j.Held)
	if err != nil {
		return nil, err
	}
	j.Spec = json.RawMessage(spec)
	if parent != nil {
		j.Parent = *parent
	}
	if series != nil {
		j.Series = new(job.Series)
		if err := json.Unmarshal([]byte(*series), j.Series); err != nil {
			return nil, fmt.Errorf("job %d: series: %w", j.ID, err)
		}
	}
	j.Submitted = j.Submitted.UTC()
	j.Started, j.Finished = utc(started), utc(finished)
	j.CPUSeconds = job.ChargedCPUSeconds(j.CPUs, j.Started, j.Finished)
	if leaseToken != nil && leaseExpires != nil && j.State == job.Active {
		j.Lease = &job.Lease{Holder: j.Worker, Token: *leaseToken, Expires: leaseExpires.UTC()}
	}
	if progress != nil && *progress != "" {
		var p job.Progress
		if json.Unmarshal([]byte(*progress), &p) == nil {
			j.Progress = &p
		}
	}
	if result != nil {
		j.Result = json.RawMessage(*result)
	}
	if protect != nil && *protect != "" {
		j.Protections = strings.Split(*protect, ",")
	}
	return &j, nil
}

func scanJobs(rows pgx.Rows, err error) ([]*job.Job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*job.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// text is b as a nullable text value.
func text(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
