package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/client"
)

const adminUsage = `admin OPERATION ARGS... [--server URL --token ADMIN-TOKEN] [--json]

Operators' changes (admin tokens only); the server logs each with the
admin's name. --json prints the server's answer as one JSON document.

  drain WORKER       the worker finishes the jobs it holds and takes no new
                     ones, until resumed (kept across restarts). WORKER is a
                     name 'bumpserve workers' lists: a remote worker's --name,
                     or the server's own slots (local@HOST by default).
  resume WORKER      the worker takes jobs again
  requeue ID         run the job again as a new attempt; a running job's
                     run is stopped first
  priority ID N      change a PENDING or ACTIVE job's priority, N from -100
                     to 100 (higher runs first among one user's jobs); a
                     negative N goes after --: admin priority 7 -- -5
  cancel-user USER   cancel every PENDING and ACTIVE job of USER`

// adminOps lists each operation with its arguments.
var adminOps = map[string]string{"drain": "WORKER", "resume": "WORKER", "requeue": "ID", "priority": "ID N", "cancel-user": "USER"}

func runAdmin(ctx context.Context, args []string) error {
	fs := newFlags("admin", adminUsage)
	var cf clientFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the server's answer as one JSON document")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		for _, a := range args {
			if _, nerr := strconv.Atoi(a); nerr == nil && strings.HasPrefix(a, "-") {
				return usagef("admin: %q is read as a flag; a negative priority goes after --: admin priority ID -- %s", a, a)
			}
		}
		return err
	}
	if len(pos) == 0 {
		return usagef("admin: missing operation (accepted: drain, resume, requeue, priority, cancel-user)")
	}
	op, rest := pos[0], pos[1:]
	want, ok := adminOps[op]
	if !ok {
		return usagef("admin: unknown operation %q (accepted: drain, resume, requeue, priority, cancel-user)", op)
	}
	if n := len(strings.Fields(want)); len(rest) != n {
		return usagef("admin %s: expected %s, got %d arguments", op, want, len(rest))
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	answer, line, err := adminCall(ctx, cl, op, rest)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(answer)
	}
	fmt.Println(line)
	return nil
}

// adminCall runs one operation; it returns the server's answer and a
// line saying what happened.
func adminCall(ctx context.Context, cl *client.Client, op string, args []string) (any, string, error) {
	switch op {
	case "drain", "resume":
		call := cl.DrainWorker
		if op == "resume" {
			call = cl.ResumeWorker
		}
		w, err := call(ctx, args[0])
		if err != nil {
			return nil, "", err
		}
		if w.Drained {
			return w, fmt.Sprintf("worker %s drained: it finishes its %d running jobs and takes no new ones", w.Name, w.Running), nil
		}
		return w, fmt.Sprintf("worker %s takes jobs", w.Name), nil
	case "requeue":
		id, err := parseID(args, "admin requeue")
		if err != nil {
			return nil, "", err
		}
		j, err := cl.Requeue(ctx, id)
		if err != nil {
			return nil, "", err
		}
		return j, fmt.Sprintf("job %d: %s, attempt %d", j.ID, j.State, j.Attempt), nil
	case "priority":
		id, err := parseID(args[:1], "admin priority")
		if err != nil {
			return nil, "", err
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < -100 || n > 100 {
			return nil, "", usagef("admin priority: N: %q is not a whole number from -100 to 100", args[1])
		}
		j, err := cl.SetPriority(ctx, id, n)
		if err != nil {
			return nil, "", err
		}
		return j, fmt.Sprintf("job %d: priority %d", j.ID, j.Priority), nil
	default: // cancel-user
		c, err := cl.CancelUserJobs(ctx, args[0])
		if err != nil {
			return nil, "", err
		}
		return c, fmt.Sprintf("user %s: %d pending jobs cancelled, %d running jobs told to stop", c.User, len(c.Cancelled), len(c.Stopping)), nil
	}
}
