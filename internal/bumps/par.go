// Package bumps reads what the Bumps command line writes into its store
// directory (the .par, .err, -err.json, .mon and .dat files) and digests
// its stderr, so that a Bumps fit can be presented like a native one.
// It runs nothing: the bumps service in internal/service starts bumps.
package bumps

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Param is one fitted parameter as bumps saved it.
type Param struct {
	Label string
	Value float64
}

// ParsePar reads a .par file: one "label value" line per fitted
// parameter, in the problem's order. Labels may hold spaces (bumps
// writes "%s %.15g"), so the value is the last field.
func ParsePar(r io.Reader) ([]Param, error) {
	var out []Param
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			return nil, fmt.Errorf(".par line %d: %q is not \"label value\"", n, line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf(".par line %d: value %q is not a number", n, line[i+1:])
		}
		out = append(out, Param{Label: line[:i], Value: v})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf(".par: no parameters")
	}
	return out, nil
}
