package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bumpserve/bumpserve/client"
)

// seriesFlags make a submission a fit series: --series takes every
// argument after it up to the next flag (so a shell glob works:
// --series data/*.txt), --series-x names the rows' x values and --chain
// starts each fit from the previous one's best.
type seriesFlags struct {
	files []string
	x     string
	chain bool
}

func (sf *seriesFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.x, "series-x", "", "series: each row's x value: index (default), name:REGEX (a number from the file name) or column:N (the mean of column N of the file)")
	fs.BoolVar(&sf.chain, "chain", false, "series: start each fit from the previous one's best values")
}

// takeSeries removes --series and the file names after it from args.
// given says whether --series appeared at all (with no files, the
// server's error names the empty list).
func takeSeries(args []string) (rest, files []string, given bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(rest, args[i:]...), files, given
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "series" {
			rest = append(rest, a)
			continue
		}
		given = true
		if hasValue {
			files = append(files, value)
		}
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			files = append(files, args[i])
		}
	}
	return rest, files, given
}

// apply adds the series files to the uploads and the series to sub.
func (sf *seriesFlags) apply(sub *client.Submission, files []client.Upload) ([]client.Upload, error) {
	names := make([]string, len(sf.files))
	seen := map[string]string{}
	for _, f := range files {
		seen[uploadName(f)] = f.Path
	}
	for i, path := range sf.files {
		name := filepath.Base(path)
		if prev, ok := seen[name]; ok {
			return nil, usagef("series: %s and %s would both be uploaded as %s (a series' files need distinct names)", prev, path, name)
		}
		seen[name] = path
		names[i] = name
		files = append(files, client.Upload{Name: name, Path: path})
	}
	sub.Series = &client.Series{Files: names, X: sf.x, Chain: sf.chain}
	return files, nil
}

func uploadName(u client.Upload) string {
	if u.Name != "" {
		return u.Name
	}
	return filepath.Base(u.Path)
}

// seriesUsage is the part of submit's help about series.
const seriesUsage = `
A fit series fits one model to each of several data files: --series
takes every argument after it up to the next flag, makes a parent job
with one child per file, and prints the parent's id.
  bumpserve submit --service fit --spec-file model.json --series data/*.txt
  bumpserve submit --service bumps peak.py --series scans/*.txt --series-x 'name:_(\d+)K'
A native spec must read one dataset from a file ({"file": ..., "columns":
...}): each child reads its own file there. A Bumps model gets its file
name as its last argument (sys.argv[-1]). --chain starts each native fit
from the previous one's best values. See docs/series.md.`

func seriesSummary(n int) string { return fmt.Sprintf("a series of %d fits", n) }
