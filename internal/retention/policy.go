// Package retention deletes finished jobs, and their files, once they are
// older than the age set for their state, unless pinned; and measures
// each finished job's directory for the disk quota and accounting. It
// runs in the background, in small batches, away from the hot path of
// submissions and claims.
package retention

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

// Policy is how long finished jobs of each terminal state are kept after
// they finish; a state it does not name is kept for ever.
type Policy map[job.State]time.Duration

type unit struct {
	name string
	d    time.Duration
}

// units are the duration units --retain accepts, longest first.
var units = []unit{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}}

// Parse reads a policy as `serve --retain` takes it:
// "COMPLETE=30d,ERROR=30d,CANCEL=7d", each age a number with a unit d,
// h, m or s ("" keeps every job for ever). An unknown state, a live
// state or an unknown unit is an error naming it and what is accepted.
func Parse(s string) (Policy, error) {
	p := Policy{}
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	for _, item := range strings.Split(s, ",") {
		name, age, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("retain: %q is not STATE=AGE (as in COMPLETE=30d)", item)
		}
		st := job.State(strings.ToUpper(strings.TrimSpace(name)))
		if !st.Terminal() {
			return nil, fmt.Errorf("retain: unknown state %q (accepted: COMPLETE, ERROR, CANCEL)", name)
		}
		if _, dup := p[st]; dup {
			return nil, fmt.Errorf("retain: state %s given twice", st)
		}
		d, err := parseAge(strings.TrimSpace(age))
		if err != nil {
			return nil, fmt.Errorf("retain: %s=%s: %w", st, age, err)
		}
		p[st] = d
	}
	return p, nil
}

func parseAge(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("%q is not a number with a unit (as in 30d, 12h, 90m, 3600s)", s)
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive number", s[:i])
	}
	suffix := s[i:]
	k := slices.IndexFunc(units, func(u unit) bool { return u.name == suffix })
	if k < 0 {
		return 0, fmt.Errorf("unknown unit %q (accepted: d, h, m, s)", suffix)
	}
	d := time.Duration(n * float64(units[k].d))
	if d < time.Second {
		return 0, fmt.Errorf("%s is less than a second", s)
	}
	return d, nil
}

// String writes p as Parse reads it, states in life order.
func (p Policy) String() string {
	var parts []string
	for _, st := range job.States {
		if d, ok := p[st]; ok {
			parts = append(parts, string(st)+"="+formatAge(d))
		}
	}
	return strings.Join(parts, ",")
}

func formatAge(d time.Duration) string {
	for _, u := range units {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
