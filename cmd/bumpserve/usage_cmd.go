package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/server"
)

const usageCmdUsage = `usage [--user U] [--group G] [--since DATE] [flags]

Prints CPU time and disk per user and per group: the CPU-hours charged to
runs that finished since DATE (YYYY-MM-DD or an RFC 3339 time; default:
ever), as CPUs held x wall time, and what the jobs hold on disk now. A
group's line sums its members' lines: a job counts toward every group its
owner is in, so the groups do not add up to the users.

A user sees their own line and their groups' lines; an admin sees
everyone's and every group's, or one user's (and their groups') with
--user, or one group's (and its members') with --group.`

// runUsage prints the accounting report.
func runUsage(ctx context.Context, args []string) error {
	fs := newFlags("usage", usageCmdUsage)
	var cf clientFlags
	cf.register(fs)
	user := fs.String("user", "", "only this user and their groups (admins; others see only themselves)")
	group := fs.String("group", "", "only this group, and its members' lines for an admin (users: only their own groups)")
	since := fs.String("since", "", "count runs finished since this date (YYYY-MM-DD or RFC 3339; default: ever)")
	asJSON := fs.Bool("json", false, "print one JSON document: {\"users\": [...], \"groups\": [...], ...}")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("usage: unexpected argument %q", pos[0])
	}
	if _, err := server.ParseSince(*since); err != nil {
		return usagef("%v", err)
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	u, err := cl.UsageOf(ctx, client.UsageQuery{User: *user, Group: *group, Since: *since})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(u)
	}
	printAccounting(u)
	return nil
}

func printAccounting(u *api.Usage) {
	period := "ever"
	if u.Since != nil {
		period = "since " + u.Since.Format("2006-01-02 15:04 MST")
	}
	quota := "no disk quota"
	if u.DiskQuotaBytes > 0 {
		quota = "disk quota " + server.MB(u.DiskQuotaBytes) + " per user"
	}
	fmt.Printf("CPU time of runs finished %s; disk held now; %s\n", period, quota)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "USER\tRUNS\tCPU-HOURS\tJOBS\tDISK\t")
	for _, r := range u.Users {
		fmt.Fprintf(w, "%s\t%d\t%.3f\t%d\t%s\t\n", r.User, r.Runs, r.CPUHours, r.Jobs, server.MB(r.DiskBytes))
	}
	w.Flush()
	if len(u.Groups) == 0 {
		return
	}
	fmt.Println("\nPer group, the sums of its members' lines (a user in two groups counts in both):")
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "GROUP\tMEMBERS\tRUNS\tCPU-HOURS\tJOBS\tDISK\t")
	for _, g := range u.Groups {
		fmt.Fprintf(w, "%s\t%d\t%d\t%.3f\t%d\t%s\t\n", g.Group, len(g.Members), g.Runs, g.CPUHours, g.Jobs, server.MB(g.DiskBytes))
	}
	w.Flush()
}
