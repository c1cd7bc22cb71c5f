package series

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/bumpserve/bumpserve/fit"
)

// XValues are the rows' x values for the plots and the CSV, from the
// source x names:
//   - "index" (or "", the default) numbers the files 0, 1, ...;
//   - "name:REGEX" reads a number from each file's base name, the
//     expression's first group if it has one, else its whole match
//     ("name:_(\d+)K" reads 300 from scan_300K.txt);
//   - "column:N" is the mean of column N (from 1) of each file's data
//     lines (blank lines and # comments skipped), for a scan that records
//     its temperature or field beside the data.
//
// open reads a file of the series; "column:N" needs it (with nil it is an
// error). A file that has no such value is an error naming it, so a typo
// is caught at submit, where the values are worked out once and kept.
func XValues(x string, files []string, open func(file string) (io.ReadCloser, error)) ([]float64, error) {
	out := make([]float64, len(files))
	switch {
	case x == "" || x == "index":
		for i := range out {
			out[i] = float64(i)
		}
		return out, nil
	case strings.HasPrefix(x, "name:"):
		re, err := regexp.Compile(strings.TrimPrefix(x, "name:"))
		if err != nil {
			return nil, fmt.Errorf("series.x: %q: %v", x, err)
		}
		for i, f := range files {
			base := path.Base(f)
			m := re.FindStringSubmatch(base)
			if m == nil {
				return nil, fmt.Errorf("series.x: %q does not match file %d %q", x, i, base)
			}
			s := m[0]
			if len(m) > 1 {
				s = m[1]
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("series.x: %q finds %q in file %d %q, which is not a number", x, s, i, base)
			}
			out[i] = v
		}
		return out, nil
	case strings.HasPrefix(x, "column:"):
		n, err := strconv.Atoi(strings.TrimPrefix(x, "column:"))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("series.x: %q: the column is a number from 1", x)
		}
		if open == nil {
			return nil, fmt.Errorf("series.x: %q reads the files, which are not at hand", x)
		}
		for i, f := range files {
			r, err := open(f)
			if err != nil {
				return nil, fmt.Errorf("series.x: %q: file %d %q: %v", x, i, f, err)
			}
			out[i], err = columnMean(r, n)
			r.Close()
			if err != nil {
				return nil, fmt.Errorf("series.x: %q: file %d %q: %v", x, i, f, err)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("series.x: %q is not accepted (accepted: index; name:REGEX, a number captured from the file name; column:N, the mean of column N of the file)", x)
}

// columnMean is the mean of column n (from 1) over the data lines of r,
// split into fields as the fit reads data files (fit.SplitFields).
func columnMean(r io.Reader, n int) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var sum float64
	count, line := 0, 0
	for sc.Scan() {
		line++
		fields := fit.SplitFields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) < n {
			return 0, fmt.Errorf("line %d has %d columns, not %d", line, len(fields), n)
		}
		v, err := strconv.ParseFloat(fields[n-1], 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("line %d, column %d: %q is not a finite number", line, n, fields[n-1])
		}
		sum += v
		count++
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if count == 0 {
		return 0, fmt.Errorf("no data lines")
	}
	return sum / float64(count), nil
}

// XLabel names the x axis for the source x.
func XLabel(x string) string {
	switch {
	case x == "" || x == "index":
		return "series index"
	case strings.HasPrefix(x, "column:"):
		return "mean of column " + strings.TrimPrefix(x, "column:")
	}
	return "value from file name"
}
