package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/bumpserve/bumpserve/internal/version"
)

const versionUsage = `version [--short | --json]

Prints this build's version (the one every result records), its module
version, the VCS commit it was built from ("dirty" when the checkout had
uncommitted changes; 'make build' records it, as builds here run with
-buildvcs=false) and the Go version.`

func runVersion(_ context.Context, args []string) error {
	fs := newFlags("version", versionUsage)
	short := fs.Bool("short", false, "print only the version every result records")
	asJSON := fs.Bool("json", false, "print one JSON document")
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("version: takes no arguments, got %q", pos[0])
	}
	v := version.Get()
	switch {
	case *asJSON:
		return printJSON(v)
	case *short:
		fmt.Println(v.Version)
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "bumpserve\t%s\n", v.Version)
	fmt.Fprintf(tw, "module\t%s %s\n", v.Module, v.ModuleVersion)
	if v.Commit != "" {
		dirty := ""
		if v.Dirty {
			dirty = " (dirty: uncommitted changes)"
		}
		fmt.Fprintf(tw, "commit\t%s%s %s\n", v.Commit, dirty, v.CommitTime)
	} else {
		fmt.Fprintf(tw, "commit\tunknown (built without VCS information: use 'make build')\n")
	}
	fmt.Fprintf(tw, "go\t%s\n", v.Go)
	return tw.Flush()
}
