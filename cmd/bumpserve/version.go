package main

import (
	"context"
	"fmt"

	"github.com/bumpserve/bumpserve/internal/version"
)

const versionUsage = `version

Prints bumpserve's version (the one every result records).`

func runVersion(ctx context.Context, args []string) error {
	fs := newFlags("version", versionUsage)
	pos, err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("version: takes no arguments")
	}
	fmt.Println(version.String())
	return nil
}
