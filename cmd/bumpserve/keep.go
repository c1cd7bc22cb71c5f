package main

import (
	"context"
	"fmt"

	"github.com/bumpserve/bumpserve/client"
)

const keepUsage = `keep [--off] [flags] ID

Pins job ID so that the server's retention (serve --retain) never deletes
it, however old it gets; --off unpins it, and it is deleted once past
its state's age again.`

// runKeep pins or unpins a job against retention.
func runKeep(ctx context.Context, args []string) error {
	fs := newFlags("keep", keepUsage)
	var cf clientFlags
	cf.register(fs)
	off := fs.Bool("off", false, "unpin the job: retention may delete it again")
	asJSON := fs.Bool("json", false, "print the job as JSON")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	id, err := parseID(pos, "keep")
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	return keepJob(ctx, cl, id, !*off, *asJSON)
}

func keepJob(ctx context.Context, cl *client.Client, id int64, keep, asJSON bool) error {
	j, err := cl.Keep(ctx, id, keep)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(j)
	}
	if j.Keep {
		fmt.Printf("job %d: kept (retention will not delete it)\n", id)
	} else {
		fmt.Printf("job %d: no longer kept (retention deletes it once past its state's age)\n", id)
	}
	return nil
}
