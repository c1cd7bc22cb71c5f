package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/client"
)

func runWait(ctx context.Context, args []string) error {
	fs := newFlags("wait", "wait [flags] ID")
	var cf clientFlags
	cf.register(fs)
	timeout := fs.Duration("timeout", 0, "give up after this long (e.g. 10m); 0 waits for ever")
	quiet := fs.Bool("quiet", false, "no progress line")
	fs.Bool("json", false, jsonAlways)
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	id, err := parseID(pos, "wait")
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	// An unreachable server or unknown job is an error at once; the
	// event stream below retries through a server's restart.
	if _, err := cl.Get(ctx, id); err != nil {
		return err
	}
	line := newProgressLine(os.Stderr, *quiet)
	final, err := cl.Watch(ctx, id, func(j *client.Job) error {
		line.show(j)
		return nil
	})
	line.done()
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("wait: job %d not finished after %v", id, *timeout)}
		}
		return err
	}
	if err := printJSON(final); err != nil {
		return err
	}
	if final.State != "COMPLETE" {
		return &exitError{code: 1, msg: fmt.Sprintf("job %d ended in %s: %s", id, final.State, final.Reason)}
	}
	// A finished fit whose sampler has not converged is still COMPLETE;
	// say so beside the job rather than let it pass for a good result.
	if r, err := cl.Results(ctx, id); err == nil {
		warnIfUntrusted(fmt.Sprintf("job %d: ", id), r)
	}
	return nil
}

// progressLine shows a job's state and progress on one terminal line,
// rewritten in place, or as one line per change when not on a terminal.
type progressLine struct {
	f     *os.File
	quiet bool
	tty   bool
	last  string
	width int
}

func newProgressLine(f *os.File, quiet bool) *progressLine {
	st, err := f.Stat()
	tty := err == nil && st.Mode()&os.ModeCharDevice != 0
	return &progressLine{f: f, quiet: quiet, tty: tty}
}

func (p *progressLine) show(j *client.Job) {
	if p.quiet {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "job %d %s", j.ID, j.State)
	if j.CancelRequested && !j.State.Terminal() {
		b.WriteString(" (cancelling)")
	}
	if j.Worker != "" && j.State == "ACTIVE" {
		fmt.Fprintf(&b, " on %s", j.Worker)
	}
	if pr := j.Progress; pr != nil && !j.State.Terminal() {
		fmt.Fprintf(&b, "  step %d", pr.Step)
		if pr.Cost != nil {
			fmt.Fprintf(&b, "  chisq %.6g", *pr.Cost)
		}
		if pr.Message != "" {
			fmt.Fprintf(&b, "  %s", pr.Message)
		}
	}
	if j.Started != nil && !j.State.Terminal() {
		fmt.Fprintf(&b, "  %s", time.Since(*j.Started).Round(time.Second))
	}
	if j.State.Terminal() && j.Reason != "" {
		fmt.Fprintf(&b, ": %s", j.Reason)
	}
	s := b.String()
	if s == p.last {
		return
	}
	p.last = s
	if p.tty {
		fmt.Fprintf(p.f, "\r%-*s", p.width, s)
		p.width = max(p.width, len(s))
	} else {
		fmt.Fprintln(p.f, s)
	}
}

func (p *progressLine) done() {
	if p.tty && !p.quiet && p.last != "" {
		fmt.Fprintln(p.f)
	}
}
