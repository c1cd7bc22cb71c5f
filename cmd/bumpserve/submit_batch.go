package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

// batchDocument reports whether pos names a single job document holding
// a JSON array of jobs, and reads it.
func batchDocument(service string, pos []string) ([]byte, bool) {
	if service != "" || len(pos) != 1 {
		return nil, false
	}
	b, err := os.ReadFile(pos[0])
	if t := bytes.TrimLeft(b, " \t\r\n"); err != nil || len(t) == 0 || t[0] != '[' {
		return nil, false
	}
	return b, true
}

// submitBatch submits the jobs of a batch document in one request (all
// or none are accepted) and prints their ids, one a line. The resource
// flags apply to every job's spec; the other job flags do not go with a
// batch.
func submitBatch(ctx context.Context, fs *flag.FlagSet, cf *clientFlags, rf *resourceFlags, path string, doc []byte) error {
	for _, f := range []string{"name", "spec", "spec-file", "priority"} {
		if flagSet(fs, f) {
			return usagef("submit: --%s does not go with a batch document (%s holds a JSON array of jobs)", f, path)
		}
	}
	var subs []client.Submission
	if err := strictjson.Decode(doc, "jobs", &subs); err != nil {
		return usagef("job document %s: %v", path, err)
	}
	if len(subs) == 0 {
		return usagef("job document %s: an empty array (give at least one job)", path)
	}
	for i := range subs {
		spec, err := rf.apply(fs, subs[i].Spec)
		if err != nil {
			return err
		}
		subs[i].Spec = spec
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	js, err := cl.SubmitAll(ctx, subs)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "submitted %d jobs\n", len(js))
	for _, j := range js {
		fmt.Println(j.ID)
	}
	return nil
}

// flagSet reports whether the flag name was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
