package main

import (
	"context"
	"fmt"

	"github.com/bumpserve/bumpserve/internal/backup"
)

const backupUsage = `backup --data DIR OUT

Copies the data directory DIR into the new directory OUT while the server
may run on it: a consistent snapshot of the SQLite store (OUT/bumpserve.db),
the files of every job in that snapshot (OUT/jobs/ID/…), the session key
and admin token. To restore, stop the server and use OUT (or a copy of it)
as --data. For a PostgreSQL store use pg_dump; see docs/postgres.md.`

func runBackup(ctx context.Context, args []string) error {
	fs := newFlags("backup", backupUsage)
	data := fs.String("data", "./var", "the data directory to copy")
	pos, err := parseFlags(fs, args, map[string]string{"data": "BUMPSERVE_DATA"})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("backup: expected one argument, OUT (a new directory for the copy)")
	}
	c, err := backup.Run(ctx, *data, pos[0])
	if err != nil {
		return err
	}
	fmt.Printf("backed up %d jobs (%d files, %d bytes) into %s\n", c.Jobs, c.Files, c.Bytes, pos[0])
	if c.NoFiles > 0 {
		fmt.Printf("%d jobs were deleted while the copy ran: they are in its store without files\n", c.NoFiles)
	}
	return nil
}
