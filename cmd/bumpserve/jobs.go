package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumpserve/bumpserve/client"
)

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runJobs(ctx context.Context, args []string) error {
	fs := newFlags("jobs", "jobs [--state S] [--service S] [--shared] [--limit N] [--all] [--json]")
	var cf clientFlags
	cf.register(fs)
	state := fs.String("state", "", "only jobs in this state (PENDING, ACTIVE, COMPLETE, ERROR, CANCEL)")
	service := fs.String("service", "", "only jobs of this service")
	limit := fs.Int("limit", 50, "jobs per page")
	all := fs.Bool("all", false, "follow every page")
	asJSON := fs.Bool("json", false, "print one JSON document: {\"jobs\": [...]}")
	shared := fs.Bool("shared", false, "list instead the jobs shared with your groups")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("jobs: unexpected argument %q", pos[0])
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	var jobs []*client.Job
	opt := client.ListOptions{State: *state, Service: *service, Limit: *limit, Shared: *shared}
	for {
		page, err := cl.List(ctx, opt)
		if err != nil {
			return err
		}
		jobs = append(jobs, page.Jobs...)
		if !*all || page.Next == "" {
			break
		}
		opt.Before = page.Next
	}
	if *asJSON {
		return printJSON(map[string]any{"jobs": nonNil(jobs)})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSERVICE\tNAME\tOWNER\tSUBMITTED\tREASON")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.State, j.Service, j.Name, j.Owner,
			j.Submitted.Local().Format(time.DateTime), oneLine(j.Reason, 60))
	}
	return tw.Flush()
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}

// jsonAlways is the --json flag's text on commands whose output is one
// JSON document anyway: the flag is accepted so that every listing and
// showing command takes it.
const jsonAlways = "print one JSON document (this command's output is JSON in any case)"

// idCommand runs a command taking client flags and one job id; showing
// commands (withJSON) also take --json.
func idCommand(ctx context.Context, name string, args []string, withJSON bool, fn func(*client.Client, int64) error) error {
	fs := newFlags(name, name+" [flags] ID")
	var cf clientFlags
	cf.register(fs)
	if withJSON {
		fs.Bool("json", false, jsonAlways)
	}
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	id, err := parseID(pos, name)
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	return fn(cl, id)
}

func runShow(ctx context.Context, args []string) error {
	return idCommand(ctx, "show", args, true, func(cl *client.Client, id int64) error {
		j, err := cl.Get(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(j)
	})
}

func runResults(ctx context.Context, args []string) error {
	return idCommand(ctx, "results", args, true, func(cl *client.Client, id int64) error {
		r, err := cl.Results(ctx, id)
		if err != nil {
			return err
		}
		var v any
		json.Unmarshal(r, &v)
		warnIfUntrusted(fmt.Sprintf("job %d: ", id), r)
		return printJSON(v)
	})
}

func runCancel(ctx context.Context, args []string) error {
	return idCommand(ctx, "cancel", args, false, func(cl *client.Client, id int64) error {
		j, err := cl.Cancel(ctx, id)
		if err != nil {
			return err
		}
		if j.State.Terminal() {
			fmt.Printf("job %d: %s\n", id, j.State)
		} else {
			fmt.Printf("job %d: cancel requested (still %s until its executor stops it)\n", id, j.State)
		}
		return nil
	})
}

func runDelete(ctx context.Context, args []string) error {
	return idCommand(ctx, "delete", args, false, func(cl *client.Client, id int64) error {
		if err := cl.Delete(ctx, id); err != nil {
			return err
		}
		fmt.Printf("job %d deleted\n", id)
		return nil
	})
}

func runFiles(ctx context.Context, args []string) error {
	fs := newFlags("files", "files [flags] ID [PATH]")
	var cf clientFlags
	cf.register(fs)
	out := fs.String("o", "", "with PATH: write the file here instead of standard output")
	asJSON := fs.Bool("json", false, "without PATH: print the list as one JSON document, {\"files\": [{\"path\", \"size\"}...]}")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("files: expected ID [PATH]")
	}
	id, err := parseID(pos[:1], "files")
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	if *asJSON && len(pos) == 2 {
		return usagef("files: --json lists files; it does not go with a PATH")
	}
	if len(pos) == 1 {
		files, err := cl.Files(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(map[string]any{"files": nonNil(files)})
		}
		for _, f := range files {
			fmt.Printf("%10d  %s\n", f.Size, f.Path)
		}
		return nil
	}
	body, err := cl.Download(ctx, id, pos[1])
	if err != nil {
		return err
	}
	defer body.Close()
	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.Copy(w, body)
	return err
}
