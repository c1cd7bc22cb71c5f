package main

import (
	"context"
	"fmt"

	"github.com/bumpserve/bumpserve/internal/store/migrate"
	"github.com/bumpserve/bumpserve/internal/store/postgres"
)

const migrateUsage = `migrate --from DIR --to postgres://… [--merge]

Copies the SQLite store in DIR (DIR/bumpserve.db) into PostgreSQL: users,
tokens (they keep working), jobs with their history, fair-share usage.
The source may be in use (a consistent snapshot is read); the target is
written in one transaction. A target that holds users or jobs is refused
unless --merge, which copies only the rows it lacks (running it again
copies nothing twice). Job files stay in DIR: give the controllers
--data DIR --store postgres://…. See docs/postgres.md.`

func runMigrate(ctx context.Context, args []string) error {
	fs := newFlags("migrate", migrateUsage)
	from := fs.String("from", "", "the data directory whose SQLite store to copy")
	to := fs.String("to", "", "the PostgreSQL URL to copy into (postgres://USER:PASSWORD@HOST:PORT/DB)")
	merge := fs.Bool("merge", false, "copy into a target that holds data already, skipping what it has")
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("migrate: unexpected argument %q", pos[0])
	case *from == "":
		return usagef("from: missing (the data directory holding bumpserve.db)")
	case !postgres.IsURL(*to):
		return usagef("to: %q is not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB)", postgres.Redact(*to))
	}
	c, err := migrate.Run(ctx, *from, *to, *merge)
	if err != nil {
		return err
	}
	fmt.Printf("copied %d users, %d tokens, %d jobs, %d usage records, %d accounting rows, %d notification records, %d group rows to %s", c.Users, c.Tokens, c.Jobs, c.Usage, c.Accounting, c.Notifications, c.Groups, postgres.Redact(*to))
	if c.Skipped > 0 {
		fmt.Printf(" (%d rows it had already were left alone)", c.Skipped)
	}
	fmt.Println()
	return nil
}
