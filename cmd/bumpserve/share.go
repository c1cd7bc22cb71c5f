package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
)

const shareUsage = `%s [flags] ID GROUP...

%s job ID with the named groups (the job's owner or an admin). Members of
a group a job is shared with see it read-only (its page, results, files,
events) and may copy it as their own with 'bumpserve copy ID'.`

func runShare(ctx context.Context, args []string) error {
	return shareCommand(ctx, "share", args, true)
}

func runUnshare(ctx context.Context, args []string) error {
	return shareCommand(ctx, "unshare", args, false)
}

func shareCommand(ctx context.Context, name string, args []string, share bool) error {
	verb := "Shares"
	if !share {
		verb = "Stops sharing"
	}
	fs := newFlags(name, fmt.Sprintf(shareUsage, name, verb))
	var cf clientFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the job as one JSON document")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("%s: expected ID GROUP..., got %d arguments", name, len(pos))
	}
	id, err := parseID(pos[:1], name)
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	j, err := cl.Share(ctx, id, pos[1:], share)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(j)
	}
	fmt.Printf("job %d is shared with: %s\n", j.ID, cmp.Or(strings.Join(j.Groups, ", "), "no group"))
	return nil
}

const copyUsage = `copy [flags] ID

Submits, as your own, a new job with the spec and input files of job ID
(yours, or one shared with a group of yours), and prints the new job's id.`

func runCopy(ctx context.Context, args []string) error {
	fs := newFlags("copy", copyUsage)
	var cf clientFlags
	cf.register(fs)
	name := fs.String("name", "", `the new job's name (default "<name> (copy)")`)
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	id, err := parseID(pos, "copy")
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	j, err := cl.Copy(ctx, id, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "submitted job %d, a copy of job %d (%s, %s)\n", j.ID, id, j.Service, j.State)
	fmt.Println(j.ID)
	return nil
}

// groupList is a --share flag: group names, repeated or comma-separated.
type groupList []string

func (g *groupList) String() string { return strings.Join(*g, ",") }

func (g *groupList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			*g = append(*g, name)
		}
	}
	return nil
}
