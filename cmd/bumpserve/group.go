package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/server"
	"github.com/bumpserve/bumpserve/internal/store"
)

const groupUsage = `group SUBCOMMAND [flags] (--data DIR | --store URL | --server URL --token ADMIN-TOKEN)

  group add NAME                  create a group
  group member NAME USER          add USER to the group
  group member NAME USER --remove take USER out of it
  group list [--json]             list the groups and their members

Members of a group see the jobs shared with it read-only and may copy
them as their own (docs/groups.md). Works on the data directory (or
--store) directly, also while the server runs, like 'bumpserve user'; or,
with --server and an admin's token and no --data or --store, through the
server's API.`

// groupBackend is where group changes go: the store, or the API.
type groupBackend struct {
	st store.Store
	cl *client.Client
}

func (b groupBackend) add(ctx context.Context, name string) (*client.Group, error) {
	if b.cl != nil {
		return b.cl.CreateGroup(ctx, name)
	}
	g, err := server.CreateGroup(ctx, b.st, name)
	if err != nil {
		return nil, err
	}
	return (*client.Group)(g), nil
}

func (b groupBackend) member(ctx context.Context, group, user string, member bool) error {
	if b.cl != nil {
		_, err := b.cl.SetGroupMember(ctx, group, user, member)
		return err
	}
	return b.st.SetGroupMember(ctx, group, user, member)
}

func (b groupBackend) list(ctx context.Context) ([]*client.Group, error) {
	if b.cl != nil {
		return b.cl.Groups(ctx)
	}
	gs, err := b.st.ListGroups(ctx)
	out := make([]*client.Group, len(gs))
	for i, g := range gs {
		out[i] = (*client.Group)(g)
	}
	return out, err
}

// refused reports a refused change: the server's answer sets the exit
// code through the API (exitCode); on the store, a refusal is bad input.
func (b groupBackend) refused(what string, err error) error {
	if b.cl != nil {
		return err
	}
	return usagef("%s: %v", what, err)
}

func runGroup(ctx context.Context, args []string) error {
	fs := newFlags("group", groupUsage)
	data := fs.String("data", "./var", "data directory")
	storeURL := fs.String("store", "", "store URL (postgres://…), as given to serve --store; default: SQLite in --data")
	var cf clientFlags
	cf.register(fs)
	remove := fs.Bool("remove", false, "with member: take the user out of the group")
	asJSON := fs.Bool("json", false, "with list: print one JSON document, {\"groups\": [...]}")
	env := map[string]string{"data": "BUMPSERVE_DATA", "store": "BUMPSERVE_STORE"}
	for k, v := range clientEnv {
		env[k] = v
	}
	pos, err := parseFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		writeUsage(os.Stderr, fs)
		return usagef("group: missing subcommand (add, member, list)")
	}
	sub, rest := pos[0], pos[1:]
	forms := map[string]string{"add": "NAME", "member": "NAME USER", "list": ""}
	form, ok := forms[sub]
	switch {
	case !ok:
		return usagef("group: unknown subcommand %q (accepted: add, member, list)", sub)
	case len(rest) != len(strings.Fields(form)):
		return usagef("group %s: expected %s, got %d arguments", sub, cmp.Or(form, "no argument"), len(rest))
	case *remove && sub != "member":
		return usagef("group %s: --remove goes with member", sub)
	case *asJSON && sub != "list":
		return usagef("group %s: --json goes with list", sub)
	}
	var b groupBackend
	if cf.server != "" && !flagGiven(args, "data", "store") {
		if b.cl, err = cf.client(); err != nil {
			return err
		}
	} else {
		if _, err := os.Stat(filepath.Join(*data, "bumpserve.db")); err != nil && *storeURL == "" {
			return usagef("data: no bumpserve database in %s", *data)
		}
		if b.st, err = controller.OpenStore(ctx, *data, *storeURL, controller.StoreOptions{}); err != nil {
			return err
		}
		defer b.st.Close()
	}
	switch sub {
	case "add":
		g, err := b.add(ctx, rest[0])
		if err != nil {
			return b.refused("group add", err)
		}
		fmt.Printf("created group %q\n", g.Name)
	case "member":
		if err := b.member(ctx, rest[0], rest[1], !*remove); err != nil {
			return b.refused("group member", err)
		}
		if *remove {
			fmt.Printf("%s is not in group %s\n", rest[1], rest[0])
		} else {
			fmt.Printf("%s is in group %s\n", rest[1], rest[0])
		}
	case "list":
		gs, err := b.list(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(map[string]any{"groups": nonNil(gs)})
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tMEMBERS\tCREATED")
		for _, g := range gs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Name, cmp.Or(strings.Join(g.Members, ","), "-"), g.Created.Local().Format(time.DateTime))
		}
		return tw.Flush()
	}
	return nil
}

// flagGiven reports whether one of the named flags is on the command
// line (not only in the environment).
func flagGiven(args []string, names ...string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		name, _, _ := strings.Cut(a, "=")
		return slices.Contains(names, name)
	})
}
