package web

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxPastedPoints bounds data pasted into the form; larger data belongs
// in an uploaded file.
const maxPastedPoints = 100_000

// splitFields splits a data line as the fit engine reads data files:
// whitespace or commas, with # starting a comment.
func splitFields(line string) []string {
	text, _, _ := strings.Cut(line, "#")
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r'
	})
}

// columnNames reads the form's column names, or, when it is empty, infers
// them from the number of fields: x y, or x y dy.
func columnNames(spec string, nfields int) ([]string, error) {
	if names := strings.Fields(strings.ReplaceAll(spec, ",", " ")); len(names) > 0 {
		return names, nil
	}
	switch nfields {
	case 2:
		return []string{"x", "y"}, nil
	case 3:
		return []string{"x", "y", "dy"}, nil
	}
	return nil, fmt.Errorf("%d columns: name them (for example \"x y dy\" or \"x T y dy\")", nfields)
}

// firstFieldCount is the number of fields on the first data line of r.
func firstFieldCount(r io.Reader) int {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if f := splitFields(sc.Text()); len(f) > 0 {
			return len(f)
		}
	}
	return 0
}

// parseColumns reads pasted data into named columns. Every line must have
// one field per column: a silently dropped column would fit the wrong data.
func parseColumns(text, names string) (map[string][]float64, []string, error) {
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		if f := splitFields(line); len(f) > 0 {
			rows = append(rows, f)
		}
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("no data lines")
	}
	if len(rows) > maxPastedPoints {
		return nil, nil, fmt.Errorf("%d lines; paste at most %d, or upload a file", len(rows), maxPastedPoints)
	}
	cols, err := columnNames(names, len(rows[0]))
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string][]float64, len(cols))
	line := 0
	for _, f := range rows {
		line++
		if len(f) != len(cols) {
			return nil, nil, fmt.Errorf("data line %d has %d fields, but there are %d columns (%s)", line, len(f), len(cols), strings.Join(cols, " "))
		}
		for j, s := range f {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("data line %d, field %d: %q is not a number", line, j+1, s)
			}
			out[cols[j]] = append(out[cols[j]], v)
		}
	}
	return out, cols, nil
}

// formatColumns writes columns back as text, one line per point, for
// prefilling the form from an earlier job.
func formatColumns(names []string, cols [][]float64) string {
	if len(cols) == 0 {
		return ""
	}
	var b strings.Builder
	for i := range cols[0] {
		for j, c := range cols {
			if j > 0 {
				b.WriteByte(' ')
			}
			if i < len(c) {
				b.WriteString(strconv.FormatFloat(c[i], 'g', -1, 64))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
