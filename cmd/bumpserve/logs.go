package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bumpserve/bumpserve/client"
)

const logsUsage = `logs [flags] ID

Prints the job's log (output/job.log). With --follow (-f) it keeps
printing what the job appends until the job ends, then exits: 0 when the
job completed, 1 otherwise. Only the new bytes are fetched each time (an
HTTP Range request). A job on a remote worker sends its log with its
results, so its log appears when it ends.`

// jobLog is the log every executor appends to.
const jobLog = "output/job.log"

// followPoll re-reads a followed log this often even without a job event:
// a service may log without reporting progress.
const followPoll = time.Second

func runLogs(ctx context.Context, args []string) error {
	fs := newFlags("logs", logsUsage)
	var cf clientFlags
	cf.register(fs)
	var follow bool
	fs.BoolVar(&follow, "follow", false, "print the log as it grows until the job ends")
	fs.BoolVar(&follow, "f", false, "short for --follow")
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	id, err := parseID(pos, "logs")
	if err != nil {
		return err
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	j, err := cl.Get(ctx, id) // a missing job or server is an error before anything else
	if err != nil {
		return err
	}
	t := &logTail{cl: cl, id: id, out: os.Stdout}
	if !follow {
		if err := t.read(ctx); err != nil {
			return err
		}
		if t.offset == 0 && !t.seen {
			fmt.Fprintf(os.Stderr, "job %d has no log yet (%s)\n", id, j.State)
		}
		return nil
	}
	final, err := t.follow(ctx)
	if err != nil {
		return err
	}
	if final.State != "COMPLETE" {
		return &exitError{code: 1, msg: fmt.Sprintf("job %d ended in %s: %s", id, final.State, final.Reason)}
	}
	return nil
}

// logTail copies a job's log to out, remembering how far it has got.
type logTail struct {
	cl     *client.Client
	id     int64
	out    io.Writer
	offset int64
	seen   bool // the log exists
}

// read copies whatever the log holds past the offset.
func (t *logTail) read(ctx context.Context) error {
	body, size, err := t.cl.ReadFrom(ctx, t.id, jobLog, t.offset)
	if client.IsNotFound(err) {
		return nil // not started yet: no log
	}
	if err != nil {
		return err
	}
	defer body.Close()
	t.seen = true
	if size < t.offset {
		// A new attempt started a new log; the old one is kept as
		// previous/N/output/job.log.
		fmt.Fprintf(os.Stderr, "bumpserve: job %d: the log started again (a new attempt)\n", t.id)
		body.Close()
		t.offset = 0
		return t.read(ctx)
	}
	n, err := io.Copy(t.out, body)
	t.offset += n
	return err
}

// follow reads the log whenever the job's event stream reports a change
// (and every followPoll between), until the job ends; the last read
// comes after the job's end, when its log is complete.
func (t *logTail) follow(ctx context.Context) (*client.Job, error) {
	changed := make(chan struct{}, 1)
	type end struct {
		job *client.Job
		err error
	}
	ended := make(chan end, 1)
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		j, err := t.cl.Watch(watchCtx, t.id, func(*client.Job) error {
			select {
			case changed <- struct{}{}:
			default: // a read is already due
			}
			return nil
		})
		ended <- end{j, err}
	}()
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		select {
		case <-changed:
		case <-tick.C:
		case e := <-ended:
			if e.err != nil {
				return nil, e.err
			}
			return e.job, t.read(ctx)
		}
		if err := t.read(ctx); err != nil {
			return nil, err
		}
	}
}
