package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// jobColumns is the column list every job query returns, in scanJob's order.
const jobColumns = `id, owner, name, service, spec, cpus, priority, state, reason, attempt,
	max_attempts, worker, lease_token, lease_expires, cancel_requested, progress, result,
	protections, submitted, started, finished, worker_user, version, keep, disk_bytes, parent, series, held`

type scanner interface{ Scan(...any) error }

func scanJob(row scanner) (*job.Job, error) {
	var (
		j                                     job.Job
		spec                                  string
		leaseToken, progress, result, protect sql.NullString
		leaseExpires, started, finished       sql.NullInt64
		submitted                             int64
		cancel, keep                          int
		parent                                sql.NullInt64
		series                                sql.NullString
		held                                  int
	)
	err := row.Scan(&j.ID, &j.Owner, &j.Name, &j.Service, &spec, &j.CPUs, &j.Priority, &j.State,
		&j.Reason, &j.Attempt, &j.MaxAttempts, &j.Worker, &leaseToken, &leaseExpires, &cancel,
		&progress, &result, &protect, &submitted, &started, &finished, &j.WorkerUser, &j.Version, &keep, &j.DiskBytes,
		&parent, &series, &held)
	if err != nil {
		return nil, err
	}
	j.Spec = json.RawMessage(spec)
	j.CancelRequested = cancel != 0
	j.Parent, j.Held = parent.Int64, held != 0
	if series.Valid {
		j.Series = new(job.Series)
		if err := json.Unmarshal([]byte(series.String), j.Series); err != nil {
			return nil, fmt.Errorf("job %d: series: %w", j.ID, err)
		}
	}
	j.Submitted = fromNanos(submitted)
	j.Started = optTime(started)
	j.Finished = optTime(finished)
	j.Keep = keep != 0
	j.CPUSeconds = job.ChargedCPUSeconds(j.CPUs, j.Started, j.Finished)
	if leaseToken.Valid && j.State == job.Active {
		j.Lease = &job.Lease{Holder: j.Worker, Token: leaseToken.String, Expires: fromNanos(leaseExpires.Int64)}
	}
	if progress.Valid && progress.String != "" {
		var p job.Progress
		if json.Unmarshal([]byte(progress.String), &p) == nil {
			j.Progress = &p
		}
	}
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	if protect.Valid && protect.String != "" {
		j.Protections = strings.Split(protect.String, ",")
	}
	return &j, nil
}

func scanJobs(rows *sql.Rows) ([]*job.Job, error) {
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

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func optTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func nullString(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
