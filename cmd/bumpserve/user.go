package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumpserve/bumpserve/internal/controller"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/notify"
	"github.com/bumpserve/bumpserve/internal/store"
)

const userUsage = `user SUBCOMMAND [flags] --data DIR [--store URL]

  user add NAME [--admin|--worker]   create a user; prints its token (last word)
  user list [--json]                 list users
  user token NAME [--label L]        issue another token for NAME
  user tokens [NAME] [--json]        list tokens (never the secrets)
  user revoke TOKEN-ID               revoke a token at once
  user webhook-secret NAME [--rotate] print NAME's webhook signing secret (made on first use)
  user notify NAME [--email A] [--webhook URL]  set NAME's default notification
                                     (neither flag: clear it; see docs/notifications.md)

Works on the data directory (or --store) directly, also while the server runs.`

func runUser(ctx context.Context, args []string) error {
	fs := newFlags("user", userUsage)
	data := fs.String("data", "./var", "data directory")
	storeURL := fs.String("store", "", "store URL (postgres://…), as given to serve --store; default: SQLite in --data")
	admin := fs.Bool("admin", false, "with add: the user is an admin")
	workerRole := fs.Bool("worker", false, "with add: a worker identity (worker routes only)")
	label := fs.String("label", "", "with token: a label to tell tokens apart")
	rotate := fs.Bool("rotate", false, "with webhook-secret: replace the secret (receivers must learn the new one)")
	email := fs.String("email", "", "with notify: the default email address for NAME's jobs")
	webhook := fs.String("webhook", "", "with notify: the default webhook URL for NAME's jobs")
	allowHTTP := fs.Bool("allow-http-webhooks", false, "with notify: accept an http:// URL (the server must allow it too)")
	asJSON := fs.Bool("json", false, "with list and tokens: print one JSON document, {\"users\": [...]} or {\"tokens\": [...]}")
	pos, err := parseFlags(fs, args, map[string]string{"data": "BUMPSERVE_DATA", "store": "BUMPSERVE_STORE"})
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		writeUsage(os.Stderr, fs)
		return usagef("user: missing subcommand (add, list, token, tokens, revoke)")
	}
	if _, err := os.Stat(filepath.Join(*data, "bumpserve.db")); err != nil && pos[0] != "add" && *storeURL == "" {
		return usagef("data: no bumpserve database in %s", *data)
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	st, err := controller.OpenStore(ctx, *data, *storeURL, controller.StoreOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	sub, rest := pos[0], pos[1:]
	want := func(n int, form string) error {
		if len(rest) != n {
			return usagef("user %s: expected %s", sub, form)
		}
		return nil
	}
	if *asJSON && sub != "list" && sub != "tokens" {
		return usagef("user %s: --json goes with list and tokens", sub)
	}
	switch sub {
	case "add":
		if err := want(1, "NAME"); err != nil {
			return err
		}
		if *admin && *workerRole {
			return usagef("user add: --admin and --worker exclude each other")
		}
		role := store.RoleUser
		if *admin {
			role = store.RoleAdmin
		} else if *workerRole {
			role = store.RoleWorker
		}
		token, err := controller.AddUser(ctx, st, rest[0], role)
		if err != nil {
			return usagef("user add: %v", err)
		}
		fmt.Printf("created %s %q; its token: %s\n", role, rest[0], token)
	case "token":
		if err := want(1, "NAME"); err != nil {
			return err
		}
		token, err := controller.NewToken(ctx, st, rest[0], *label)
		if err != nil {
			return usagef("user token: %v", err)
		}
		fmt.Printf("new token for %q: %s\n", rest[0], token)
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(map[string]any{"users": nonNil(users)})
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, u.Created.Local().Format(time.DateTime))
		}
		return tw.Flush()
	case "tokens":
		user := ""
		if len(rest) > 0 {
			user = rest[0]
		}
		toks, err := st.ListTokens(ctx, user)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(map[string]any{"tokens": nonNil(toks)})
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tREVOKED")
		for _, t := range toks {
			revoked := "-"
			if t.Revoked != nil {
				revoked = t.Revoked.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Label, t.Created.Local().Format(time.DateTime), revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := want(1, "TOKEN-ID (see user tokens)"); err != nil {
			return err
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return usagef("user revoke: %q is not a token id (see user tokens)", rest[0])
		}
		if err := st.RevokeToken(ctx, id, time.Now()); err != nil {
			return usagef("user revoke: %v", err)
		}
		fmt.Printf("token %d revoked\n", id)
	case "webhook-secret":
		if err := want(1, "NAME"); err != nil {
			return err
		}
		secret, err := st.WebhookSecret(ctx, &store.WebhookSecretParams{User: rest[0], Fresh: notify.NewSecret(), Rotate: *rotate})
		if err != nil {
			return usagef("user webhook-secret: %q: %v", rest[0], err)
		}
		fmt.Printf("webhook secret of %q (requests carry %s: sha256=HMAC of the body): %s\n", rest[0], notify.SignatureHeader, secret)
	case "notify":
		if err := want(1, "NAME"); err != nil {
			return err
		}
		n := job.Notify{Email: *email, Webhook: *webhook}
		if err := n.Check("notify", *allowHTTP); err != nil {
			return usagef("user notify: %v", err)
		}
		if err := st.SetNotifyDefault(ctx, rest[0], n); err != nil {
			return usagef("user notify: %q: %v", rest[0], err)
		}
		fmt.Printf("default notification of %q: %s\n", rest[0], describeNotify(n))
	default:
		return usagef("user: unknown subcommand %q (accepted: add, list, token, tokens, revoke, webhook-secret, notify)", sub)
	}
	return nil
}

// describeNotify says what a notify document asks for.
func describeNotify(n job.Notify) string {
	var parts []string
	for _, t := range n.Targets() {
		parts = append(parts, t.Channel+" "+t.Destination)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
