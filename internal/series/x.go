package series

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// XValues are the rows' x values for the plots and the CSV, from the
// source x names: "index" (or "", the default) numbers the files 0, 1,
// ...; "name:REGEX" reads a number from each file's base name, the
// expression's first group if it has one, else its whole match
// ("name:_(\d+)K" reads 300 from scan_300K.txt). A file whose name does
// not match is an error naming it, so a typo is caught at submit.
func XValues(x string, files []string) ([]float64, error) {
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
	}
	return nil, fmt.Errorf("series.x: %q is not accepted (accepted: index, name:REGEX with a number captured from the file name)", x)
}

// XLabel names the x axis for the source x.
func XLabel(x string) string {
	if x == "" || x == "index" {
		return "series index"
	}
	return "value from file name"
}
