package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; the error itself
	// says enough there, so the full text is printed only for --help.
	fs.Usage = func() {}
	usages[fs] = usage
	return fs
}

// usages holds each flag set's usage text for --help.
var usages = map[*flag.FlagSet]string{}

// parseFlags parses args allowing flags before or after positional
// arguments ("--" ends flags). Flags not given on the command line are
// then taken from environment variables (env maps flag name to variable)
// and, if the set has a "config" flag naming a file, from that file's
// "name = value" lines. It returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, env map[string]string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(fs)
				return nil, err
			}
			return nil, usagef("%s: %s", fs.Name(), gnuFlagNames(err.Error()))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, variable := range env {
		if v, ok := os.LookupEnv(variable); ok && !set[name] && v != "" {
			if err := fs.Set(name, v); err != nil {
				return nil, usagef("%s (from %s): %v", name, variable, err)
			}
			set[name] = true
		}
	}
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		if err := applyConfig(fs, cf.Value.String(), set); err != nil {
			return nil, err
		}
	}
	return pos, nil
}

// applyConfig sets flags not already set from a file of "name = value"
// lines ("#" starts a comment).
func applyConfig(fs *flag.FlagSet, path string, set map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("config: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok || name == "" {
			return usagef("config %s:%d: expected name = value", path, n)
		}
		if fs.Lookup(name) == nil || name == "config" {
			return usagef("config %s:%d: unknown setting %q", path, n, name)
		}
		if set[name] {
			continue // the command line wins
		}
		if err := fs.Set(name, value); err != nil {
			return usagef("config %s:%d: %s: %v", path, n, name, err)
		}
	}
	return sc.Err()
}

// intList parses "1,4,16" (or "" for def) into positive numbers.
func intList(s string, def int) ([]int, error) {
	if s == "" {
		return []int{def}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
