package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// printUsage writes a command's help to standard output: asked-for help
// is the command's output, not an error. Flags are shown GNU-style
// (--name), as users type them; the flag package itself would print -name.
func printUsage(fs *flag.FlagSet) {
	writeUsage(os.Stdout, fs)
}

func writeUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: bumpserve %s\n", usages[fs])
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-" // a short alias such as -f
		}
		fmt.Fprintf(&b, "  %s%s", dashes, f.Name)
		if typ != "" {
			fmt.Fprintf(&b, " %s", typ)
		}
		fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(text, "\n", "\n      "))
		if !zeroDefault(f.DefValue) {
			if typ == "string" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(&b, " (default %s)", f.DefValue)
			}
		}
		b.WriteByte('\n')
	})
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nflags:\n%s", b.String())
	}
}

func zeroDefault(v string) bool {
	switch v {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// gnuFlagNames rewrites the flag package's error messages ("flag
// provided but not defined: -x", "invalid value … for flag -x") to name
// flags as --x, the way the help shows them.
func gnuFlagNames(msg string) string {
	for _, p := range []string{"not defined: -", "for flag -", "needs an argument: -"} {
		msg = strings.Replace(msg, p, p+"-", 1)
	}
	return msg
}
