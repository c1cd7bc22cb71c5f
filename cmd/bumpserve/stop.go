package main

import (
	"context"
	"fmt"

	"github.com/bumpserve/bumpserve/client"
)

// runStop ends a running fit early, keeping what it found (unlike cancel).
func runStop(ctx context.Context, args []string) error {
	return idCommand(ctx, "stop", args, false, func(cl *client.Client, id int64) error {
		j, err := cl.Stop(ctx, id)
		if err != nil {
			return err
		}
		fmt.Printf("job %d: stop requested (still %s until the fit ends with what it has)\n", id, j.State)
		return nil
	})
}

const resumeUsage = `resume [flags] ID --samples N

Submits a new job that continues the finished or stopped DREAM fit ID from
its final state for N more samples, and prints the new job's id. The new
job's results hold the earlier draws and the new ones.`

// runResume continues an ended DREAM fit in a new job.
func runResume(ctx context.Context, args []string) error {
	fs := newFlags("resume", resumeUsage)
	var cf clientFlags
	cf.register(fs)
	samples := fs.Int("samples", 0, "how many more DREAM draws (required, at least 1)")
	name := fs.String("name", "", `the new job's name (default "<name> (continued)")`)
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	id, err := parseID(pos, "resume")
	if err != nil {
		return err
	}
	if *samples <= 0 {
		return usagef("samples: give --samples N, the number of further draws (at least 1)")
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	j, err := cl.Resume(ctx, id, *samples, *name)
	if err != nil {
		return err
	}
	fmt.Println(j.ID)
	return nil
}
