package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/api"
	"github.com/bumpserve/bumpserve/internal/store"
)

// The usage report (GET /api/v1/usage, `bumpserve usage`, the pages):
// per-user lines read from the store, and per-group lines summed here
// from the members' lines. A job counts toward every group its owner is
// in now, so a user in two groups counts in both and the groups' total
// is not the grand total.

// ErrOthersGroupUsage: only admins see the usage of groups they are not in.
var ErrOthersGroupUsage = errors.New("only admins may see the usage of groups they are not in")

// UsageQuery selects a usage report.
type UsageQuery struct {
	// User is the one user whose line is wanted: "" is every user for an
	// admin (with Group, that group's members) and the caller for anyone
	// else, who may name only themselves.
	User string
	// Group is the one group whose line is wanted, which implies Groups:
	// "" is every group for an admin (with User, the groups User is in)
	// and the caller's groups for anyone else, who may name only those.
	Group string
	// Since starts the period CPU time is counted over (zero: ever).
	Since time.Time
	// Groups asks for the per-group lines; without it Usage.Groups is
	// empty and costs nothing (the jobs page shows the caller's line only).
	Groups bool
}

// maxOwnerQueries is how many owners' lines a report reads one by one
// (each reads only its part of the indexes) before reading everyone's at
// once is the cheaper way.
const maxOwnerQueries = 32

// Usage reports CPU time of runs finished since q.Since and disk held
// now, per user and per group, as q selects and u may see.
func (s *Server) Usage(ctx context.Context, u *User, q UsageQuery) (*api.Usage, error) {
	who := q.User
	if !IsAdmin(u) {
		if who != "" && who != u.Name {
			return nil, ErrOthersUsage
		}
		who = u.Name
	}
	var groups []*store.Group
	if q.Groups || q.Group != "" {
		var err error
		if groups, err = s.usageGroups(ctx, u, who, q.Group); err != nil {
			return nil, err
		}
	}
	// Whose lines: everyone's, one user's, or one group's members'.
	everyone := who == "" && q.Group == ""
	users := []string{who}
	if who == "" && q.Group != "" {
		users = groups[0].Members
	}
	need := map[string]bool{}
	if !everyone {
		for _, n := range users {
			need[n] = true
		}
	}
	for _, g := range groups {
		for _, m := range g.Members {
			need[m] = true
		}
	}
	rows, err := s.ownersUsage(ctx, everyone, need, q.Since)
	if err != nil {
		return nil, err
	}

	out := &api.Usage{DiskQuotaBytes: s.diskQuota(), Users: []api.UserUsage{}, Groups: sumGroups(groups, rows)}
	if !q.Since.IsZero() {
		out.Since = &q.Since
	}
	if everyone {
		users = users[:0]
		for n := range rows {
			users = append(users, n)
		}
		slices.Sort(users)
	}
	for _, n := range users {
		r := rows[n]
		if r == nil {
			r = &store.OwnerUsage{Owner: n} // none yet: zeros, not absence
		}
		out.Users = append(out.Users, api.UserUsage{User: r.Owner, Runs: r.Runs, CPUSeconds: r.CPUSeconds,
			CPUHours: r.CPUSeconds / 3600, Jobs: r.Jobs, DiskBytes: r.DiskBytes})
	}
	return out, nil
}

// usageGroups picks the groups a report sums: group alone (which u must
// be in, unless an admin), or the groups who is in ("" = all).
func (s *Server) usageGroups(ctx context.Context, u *User, who, group string) ([]*store.Group, error) {
	gs, err := s.cfg.Store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	if group != "" {
		i := slices.IndexFunc(gs, func(g *store.Group) bool { return g.Name == group })
		if !IsAdmin(u) && (i < 0 || !slices.Contains(gs[i].Members, u.Name)) {
			// An unknown group and another's answer alike: a user
			// learns no group names here.
			return nil, fmt.Errorf("group: %q is not one of yours (yours: %s); %w", group, groupsOf(gs, u.Name), ErrOthersGroupUsage)
		}
		if i < 0 {
			return nil, &httpError{http.StatusNotFound, fmt.Sprintf("group: no group %q (bumpserve group list names them)", group)}
		}
		return gs[i : i+1], nil
	}
	if who == "" {
		return gs, nil
	}
	return slices.DeleteFunc(gs, func(g *store.Group) bool { return !slices.Contains(g.Members, who) }), nil
}

// groupsOf names the groups user is in, for messages.
func groupsOf(gs []*store.Group, user string) string {
	var names []string
	for _, g := range gs {
		if slices.Contains(g.Members, user) {
			names = append(names, g.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// ownersUsage reads the lines of the owners in need (or of everyone),
// by owner; an owner with no jobs and no runs has none.
func (s *Server) ownersUsage(ctx context.Context, everyone bool, need map[string]bool, since time.Time) (map[string]*store.OwnerUsage, error) {
	out := map[string]*store.OwnerUsage{}
	var rows []*store.OwnerUsage
	if everyone || len(need) > maxOwnerQueries {
		all, err := s.cfg.Store.Usage(ctx, &store.UsageParams{Since: since})
		if err != nil {
			return nil, err
		}
		rows = all
	} else {
		for n := range need {
			one, err := s.cfg.Store.Usage(ctx, &store.UsageParams{Owner: n, Since: since})
			if err != nil {
				return nil, err
			}
			rows = append(rows, one...)
		}
	}
	for _, r := range rows {
		if everyone || need[r.Owner] {
			out[r.Owner] = r
		}
	}
	return out, nil
}

// sumGroups sums each group's members' lines in rows.
func sumGroups(gs []*store.Group, rows map[string]*store.OwnerUsage) []api.GroupUsage {
	out := make([]api.GroupUsage, 0, len(gs))
	for _, g := range gs {
		line := api.GroupUsage{Group: g.Name, Members: g.Members}
		for _, m := range g.Members {
			if r := rows[m]; r != nil {
				line.Runs += r.Runs
				line.CPUSeconds += r.CPUSeconds
				line.Jobs += r.Jobs
				line.DiskBytes += r.DiskBytes
			}
		}
		line.CPUHours = line.CPUSeconds / 3600
		out = append(out, line)
	}
	return out
}
