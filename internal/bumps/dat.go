package bumps

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// DatChisq sums ((y-fy)/dy)² over a .dat file that Curve-like models
// write ("x y dy fy" rows), returning the sum, the number of rows, and
// false when the file has another layout (bumps models may save
// anything), in which case the caller falls back to the .err summary.
func DatChisq(r io.Reader) (sum float64, rows int, ok bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return 0, 0, false
		}
		var v [4]float64
		for i, s := range f {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, 0, false
			}
			v[i] = x
		}
		if v[2] <= 0 {
			return 0, 0, false
		}
		r := (v[1] - v[3]) / v[2]
		sum += r * r
		rows++
	}
	return sum, rows, sc.Err() == nil && rows > 0
}
