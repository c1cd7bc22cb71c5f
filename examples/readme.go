// Package examples holds the files the README's walk-throughs use (a
// straight line, a Bumps model with its data file, a native DREAM fit and a
// native fit of two datasets) and the test that runs every command block of
// the README against a fresh server, so the README cannot drift from what
// works.
package examples

import (
	"bufio"
	"io"
	"strings"
)

// NoTest marks the command block right after it as one the README test
// leaves out (a long benchmark, a command naming another machine).
const NoTest = "<!-- no-test -->"

// Block is one ```sh block of a Markdown file.
type Block struct {
	Line int    // the line of its opening fence, from 1
	Text string // its lines, each ending in a newline
	Skip bool   // NoTest came right before it (blank lines aside)
}

// ShellBlocks returns the ```sh blocks of a Markdown document in order.
// Other blocks (json, console transcripts, python) are not commands to run.
func ShellBlocks(r io.Reader) ([]Block, error) {
	var (
		out     []Block
		cur     *Block
		lastTxt string // the last non-blank line outside a block
		n       int
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur, lastTxt = nil, ""
		case cur != nil:
			cur.Text += line + "\n"
		case trimmed == "```sh":
			cur = &Block{Line: n, Skip: lastTxt == NoTest}
		case trimmed != "":
			lastTxt = trimmed
		}
	}
	return out, sc.Err()
}
