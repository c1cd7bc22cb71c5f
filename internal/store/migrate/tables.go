package migrate

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// table is how one table is copied: its columns (the same names in both
// engines, but for tokens' user), which hold times (Unix nanoseconds in
// SQLite, timestamptz in PostgreSQL) and which hold SQLite's 0/1 booleans.
type table struct {
	name  string
	from  []string // columns as SQLite names them
	to    []string // and PostgreSQL, in the same order
	times map[string]bool
	bools map[string]bool
	order string
	count func(*Counts) *int
}

var jobColumns = strings.Fields(`id owner name service spec cpus priority state reason attempt max_attempts worker worker_user
	lease_token lease_expires cancel_requested progress result protections submitted started finished capability version
	keep disk_bytes disk_measured parent series held`)

var tables = []table{
	{name: "users", from: []string{"name", "role", "created"}, times: set("created"), order: "name",
		count: func(c *Counts) *int { return &c.Users }},
	{name: "tokens", from: []string{"id", "user", "label", "hash", "created", "revoked", "last_used"},
		to: []string{"id", "user_name", "label", "hash", "created", "revoked", "last_used"}, times: set("created", "revoked", "last_used"), order: "id",
		count: func(c *Counts) *int { return &c.Tokens }},
	{name: "jobs", from: jobColumns, times: set("lease_expires", "submitted", "started", "finished", "disk_measured"), bools: set("cancel_requested", "keep", "held"), order: "id",
		count: func(c *Counts) *int { return &c.Jobs }},
	{name: "groups", from: []string{"name", "created"}, times: set("created"), order: "name",
		count: func(c *Counts) *int { return &c.Groups }},
	{name: "group_members", from: []string{"grp", "user"}, to: []string{"grp", "user_name"}, order: "grp, user",
		count: func(c *Counts) *int { return &c.Groups }},
	{name: "job_groups", from: []string{"job", "grp"}, order: "job, grp",
		count: func(c *Counts) *int { return &c.Groups }},
	{name: "usage", from: []string{"owner", "value", "updated"}, times: set("updated"), order: "owner",
		count: func(c *Counts) *int { return &c.Usage }},
	// The CPU ledger: the jobs arrive already finished, so the trigger
	// that writes it in PostgreSQL never fires for them.
	{name: "accounting", from: []string{"job_id", "attempt", "owner", "service", "cpus", "started", "finished", "cpu_seconds"},
		times: set("started", "finished"), order: "job_id, attempt",
		count: func(c *Counts) *int { return &c.Accounting }},
	// Notifications after their jobs and users (foreign keys).
	{name: "notifications", from: strings.Fields(`id job_id channel destination status attempts next_at lease_token lease_expires`),
		times: set("next_at", "lease_expires"), order: "id", count: func(c *Counts) *int { return &c.Notifications }},
	{name: "notification_log", from: strings.Fields(`id notification_id job_id at attempt status error`),
		times: set("at"), order: "id", count: func(c *Counts) *int { return &c.Notifications }},
	{name: "user_notify", from: []string{"user", "email", "webhook", "secret"}, to: []string{"user_name", "email", "webhook", "secret"},
		order: "user", count: func(c *Counts) *int { return &c.Notifications }},
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// copy streams the table's rows from SQLite into a temporary table with
// COPY, then inserts those whose keys the target lacks.
func (t table) copy(ctx context.Context, src *sql.Tx, dst pgx.Tx) (copied, skipped int, err error) {
	to := t.to
	if to == nil {
		to = t.from
	}
	rows, err := src.QueryContext(ctx, `SELECT `+quoted(t.from)+` FROM `+t.name+` ORDER BY `+t.order)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var values [][]any
	for rows.Next() {
		raw := make([]any, len(t.from))
		ptrs := make([]any, len(t.from))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, 0, err
		}
		for i, col := range t.from {
			raw[i] = t.convert(col, raw[i])
		}
		values = append(values, raw)
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	tmp := "import_" + t.name
	if _, err := dst.Exec(ctx, `CREATE TEMP TABLE `+tmp+` (LIKE `+t.name+`) ON COMMIT DROP`); err != nil {
		return 0, 0, err
	}
	if _, err := dst.CopyFrom(ctx, pgx.Identifier{tmp}, to, pgx.CopyFromRows(values)); err != nil {
		return 0, 0, err
	}
	tag, err := dst.Exec(ctx, `INSERT INTO `+t.name+` (`+quoted(to)+`) SELECT `+quoted(to)+` FROM `+tmp+` ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, 0, err
	}
	return int(tag.RowsAffected()), len(values) - int(tag.RowsAffected()), nil
}

// convert turns one SQLite value into what the PostgreSQL column takes.
func (t table) convert(col string, v any) any {
	if b, ok := v.([]byte); ok && col != "hash" && col != "capability" {
		v = string(b) // text read back as bytes
	}
	switch {
	case v == nil:
		return nil
	case t.times[col]:
		if n, ok := v.(int64); ok {
			return time.Unix(0, n).UTC()
		}
	case t.bools[col]:
		if n, ok := v.(int64); ok {
			return n != 0
		}
	}
	return v
}

func quoted(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + c + `"`
	}
	return strings.Join(q, ", ")
}
