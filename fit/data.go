package fit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/internal/jobdir"
)

// maxDataPoints bounds what a data file may hold, so a hostile upload
// cannot exhaust memory through the fitter's Jacobian.
const maxDataPoints = 10_000_000

// CheckFiles checks every dataset file of the spec in dir by the rules
// Run reads them with, keeping nothing: a file that is not there, is
// empty, or has a line that is short, long or not numbers is refused when
// the job is submitted rather than when it runs. dir holds the uploaded
// files; "" means none were uploaded.
func (s *Spec) CheckFiles(dir string) error {
	for i := range s.Datasets {
		d := &s.Datasets[i]
		if d.File == "" {
			continue
		}
		path := fmt.Sprintf("datasets[%d]", i)
		if dir == "" {
			return fmt.Errorf("%s.file: %s was not uploaded; uploaded: %s", path, d.File, jobdir.Uploaded(""))
		}
		err := d.scanFile(dir, path, func(r io.Reader) error { return scanColumns(r, d.Columns, nil) })
		if err != nil {
			return err
		}
	}
	return nil
}

// load reads the dataset's file, if any, from inside dir and fills the
// arrays named by Columns.
func (d *Dataset) load(dir, path string) error {
	if d.File == "" {
		return nil
	}
	var cols [][]float64
	err := d.scanFile(dir, path, func(r io.Reader) error {
		var err error
		cols, err = ReadColumns(r, d.Columns)
		return err
	})
	if err != nil {
		return err
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

// scanFile opens the dataset's file inside dir and hands it to read.
// Paths are confined to dir: absolute paths and ".." are refused up front
// with a clear message, and os.Root refuses symlinks that lead outside.
// Errors name the file as given, never dir.
func (d *Dataset) scanFile(dir, path string, read func(io.Reader) error) error {
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
		return fmt.Errorf("%s.file: open input directory: %w", path, cause(err))
	}
	defer root.Close()
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s.file: %s was not uploaded; uploaded: %s", path, d.File, jobdir.Uploaded(dir))
	}
	if err != nil {
		return fmt.Errorf("%s.file: %s: %w", path, d.File, cause(err))
	}
	defer f.Close()
	var de *DataError
	if err := read(f); errors.As(err, &de) {
		return fmt.Errorf("%s.file: %s", path, de.In(d.File))
	} else if err != nil {
		return fmt.Errorf("%s.file: %s: %w", path, d.File, err)
	}
	return nil
}

// DataError is a fault in a data file or in pasted columns of numbers.
type DataError struct {
	Line   int // 1-based; 0 when no one line is at fault
	Column int // 1-based; 0 when no one column is at fault
	Msg    string
}

// Error says where and what: "line 2, column 2: "abc" is not a number".
func (e *DataError) Error() string {
	switch {
	case e.Line == 0:
		return e.Msg
	case e.Column == 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// In words the error for the file it is in:
// `data.txt line 2, column 2: "abc" is not a number`.
func (e *DataError) In(file string) string {
	if e.Line == 0 {
		return file + ": " + e.Msg
	}
	return file + " " + e.Error()
}

// ReadColumns parses whitespace- or comma-separated numbers, one column
// per name in columns, skipping blank lines and # comments. Every data
// line must have one finite number per column (and a positive one in a
// column named dy): a silently dropped or shifted column would fit the
// wrong data. Errors are *DataError. The fit reads its data files, and
// the web form its pasted data, with it, so both refuse the same things
// in the same words.
func ReadColumns(r io.Reader, columns []string) ([][]float64, error) {
	cols := make([][]float64, len(columns))
	err := scanColumns(r, columns, func(j int, v float64) { cols[j] = append(cols[j], v) })
	if err != nil {
		return nil, err
	}
	return cols, nil
}

// scanColumns checks data as ReadColumns describes, handing each value to
// keep if it is not nil: a submission's check keeps nothing, so a large
// upload costs the server no memory.
func scanColumns(r io.Reader, columns []string, keep func(col int, v float64)) error {
	ncol := len(columns)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line, rows := 0, 0
	fault := func(col int, format string, a ...any) error {
		return &DataError{Line: line, Column: col, Msg: fmt.Sprintf(format, a...)}
	}
	for sc.Scan() {
		line++
		fields := SplitFields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) < ncol {
			return fault(len(fields)+1, "missing; the line has %d fields, but columns names %d (%s)",
				len(fields), ncol, strings.Join(columns, " "))
		}
		if len(fields) > ncol {
			return fault(ncol+1, "%q is one field too many; the line has %d fields, but columns names %d (%s)",
				fields[ncol], len(fields), ncol, strings.Join(columns, " "))
		}
		if rows++; rows > maxDataPoints {
			return fault(0, "more than %d data lines", maxDataPoints)
		}
		for j, s := range fields {
			v, err := strconv.ParseFloat(s, 64)
			switch {
			case err != nil && !errors.Is(err, strconv.ErrRange):
				return fault(j+1, "%q is not a number", s)
			case math.IsNaN(v) || math.IsInf(v, 0):
				return fault(j+1, "%q is not a finite number", s)
			case columns[j] == "dy" && v <= 0:
				return fault(j+1, "dy %q must be positive", s)
			}
			if keep != nil {
				keep(j, v)
			}
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		line++
		return fault(0, "longer than 1 MiB")
	} else if err != nil {
		return &DataError{Msg: "read: " + cause(err).Error()}
	}
	if rows == 0 {
		if line > 0 {
			return &DataError{Msg: "no data lines, only comments and blank lines"}
		}
		return &DataError{Msg: "no data lines; the file is empty"}
	}
	return nil
}

// SplitFields splits a data line into its fields: whitespace or commas
// separate them, and # starts a comment.
func SplitFields(line string) []string {
	text, _, _ := strings.Cut(line, "#")
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r'
	})
}

// cause drops the operation and path from a file error: the path would be
// the server's, not the user's.
func cause(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
