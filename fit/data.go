package fit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxDataPoints bounds what a data file may hold, so a hostile upload
// cannot exhaust memory through the fitter's Jacobian.
const maxDataPoints = 10_000_000

// load reads the dataset's file, if any, from inside dir and fills the
// arrays named by Columns. Paths are confined to dir: absolute paths and
// ".." are refused up front with a clear message, and os.Root refuses
// symlinks that lead outside.
func (d *Dataset) load(dir, path string) error {
	if d.File == "" {
		return nil
	}
	name := filepath.ToSlash(d.File)
	if filepath.IsAbs(d.File) || strings.HasPrefix(name, "/") {
		return fmt.Errorf("%s.file: %q is absolute; give a path relative to the job's input", path, d.File)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("%s.file: %q leaves the job's input directory", path, d.File)
		}
	}
	if dir == "" {
		dir = "."
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%s.file: open input directory: %w", path, err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return fmt.Errorf("%s.file: %w", path, err)
	}
	defer f.Close()
	cols, err := readColumns(f, len(d.Columns))
	if err != nil {
		return fmt.Errorf("%s.file: %s: %w", path, d.File, err)
	}
	for j, c := range d.Columns {
		switch c {
		case "x":
			d.X = cols[j]
		case "y":
			d.Y = cols[j]
		case "dy":
			d.DY = cols[j]
		default:
			if d.Vars == nil {
				d.Vars = map[string][]float64{}
			}
			d.Vars[c] = cols[j]
		}
	}
	return d.checkData(path)
}

// readColumns parses whitespace- or comma-separated numbers, skipping
// blank lines and # comments. Every data line must have exactly ncol
// fields: a silently dropped column would fit the wrong data.
func readColumns(r io.Reader, ncol int) ([][]float64, error) {
	cols := make([][]float64, ncol)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.FieldsFunc(text, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\r'
		})
		if len(fields) == 0 {
			continue
		}
		if len(fields) != ncol {
			return nil, fmt.Errorf("line %d: %d fields, but columns names %d", line, len(fields), ncol)
		}
		if len(cols[0]) >= maxDataPoints {
			return nil, fmt.Errorf("more than %d data lines", maxDataPoints)
		}
		for j, s := range fields {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d, field %d: %q is not a number", line, j+1, s)
			}
			cols[j] = append(cols[j], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return cols, nil
}
