package web

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/fit"
)

// maxPastedPoints bounds data pasted into the form; larger data belongs
// in an uploaded file.
const maxPastedPoints = 100_000

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
		if f := fit.SplitFields(sc.Text()); len(f) > 0 {
			return len(f)
		}
	}
	return 0
}

// parseColumns reads pasted data into named columns with the fit
// engine's own reader, so pasted data and data files are held to the same
// rules and refused in the same words ("line 3, column 2: ...").
func parseColumns(text, names string) (map[string][]float64, []string, error) {
	rows, nfields := 0, 0
	for _, line := range strings.Split(text, "\n") {
		if f := fit.SplitFields(line); len(f) > 0 {
			if rows == 0 {
				nfields = len(f)
			}
			rows++
		}
	}
	if rows == 0 {
		return nil, nil, fmt.Errorf("no data lines")
	}
	if rows > maxPastedPoints {
		return nil, nil, fmt.Errorf("%d lines; paste at most %d, or upload a file", rows, maxPastedPoints)
	}
	cols, err := columnNames(names, nfields)
	if err != nil {
		return nil, nil, err
	}
	data, err := fit.ReadColumns(strings.NewReader(text), cols)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string][]float64, len(cols))
	for j, c := range cols {
		out[c] = data[j]
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
