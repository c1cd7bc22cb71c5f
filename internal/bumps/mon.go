package bumps

import (
	"regexp"
	"strconv"
	"strings"
)

// Progress is the latest "step N cost X(U)" line bumps' console monitor
// wrote (about once a second) into the .mon file.
type Progress struct {
	Step int
	Cost float64 // normalised chisq of the best point so far
}

var stepRE = regexp.MustCompile(`(?m)^step (\d+) cost (\S+)\s*$`)

// LastProgress returns the last complete step line of a .mon file's text,
// and false when there is none yet. A line still being written (no
// newline yet) is ignored.
func LastProgress(text string) (Progress, bool) {
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i+1]
	} else {
		return Progress{}, false
	}
	m := stepRE.FindAllStringSubmatch(text, -1)
	for i := len(m) - 1; i >= 0; i-- {
		step, err1 := strconv.Atoi(m[i][1])
		cost, _, err2 := ParseUncertain(m[i][2])
		if err1 == nil && err2 == nil {
			return Progress{Step: step, Cost: cost}, true
		}
	}
	return Progress{}, false
}

var stepsRE = regexp.MustCompile(`(?m)^# steps: (\d+), # draws: (\d+)`)

// PlannedSteps returns the steps dream announces in the .mon file's header
// ("# steps: N, # draws: M"), and false for fitters that announce none.
func PlannedSteps(text string) (int, bool) {
	m := stepsRE.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

var seedRE = regexp.MustCompile(`--seed=(-?\d+)\s*$`)

// Seed returns the seed bumps used, from the command line it echoes as
// the first line of its output ("# bumps ... --seed=N"; bumps appends the
// seed it chose when none was given), and false if that line is missing.
func Seed(text string) (int64, bool) {
	first, _, _ := strings.Cut(text, "\n")
	if !strings.HasPrefix(first, "# ") {
		return 0, false
	}
	m := seedRE.FindStringSubmatch(first)
	if m == nil {
		return 0, false
	}
	s, err := strconv.ParseInt(m[1], 10, 64)
	return s, err == nil
}

// NotConverged reports whether the fitter said it did not converge.
func NotConverged(text string) bool {
	return strings.Contains(text, "Did not converge")
}

// Curvature reads the table "--err" prints (into the .mon file in batch
// mode): per parameter label, the standard error from the curvature of
// the cost at the minimum, unscaled by chisq (the first value(unc.)
// column). Its precision is the two digits bumps prints.
func Curvature(text string) map[string]float64 {
	_, rest, ok := strings.Cut(text, "=== Uncertainty from curvature:")
	if !ok {
		return nil
	}
	_, rest, _ = strings.Cut(rest, "\n")
	out := map[string]float64{}
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "===") {
			break
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		// Labels may hold spaces: the two numbers are the last fields.
		_, unc, err := ParseUncertain(f[len(f)-2])
		if err != nil {
			continue
		}
		label := strings.TrimSpace(strings.Join(f[:len(f)-2], " "))
		out[label] = unc
	}
	return out
}
