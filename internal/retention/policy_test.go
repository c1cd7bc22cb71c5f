package retention

import (
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
)

func TestParse(t *testing.T) {
	t.Parallel()
	p, err := Parse("COMPLETE=30d, error=36h,CANCEL=90m")
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{job.Complete: 30 * 24 * time.Hour, job.Error: 36 * time.Hour, job.Cancel: 90 * time.Minute}
	if len(p) != len(want) {
		t.Fatalf("Parse = %v, want %v", p, want)
	}
	for st, d := range want {
		if p[st] != d {
			t.Errorf("%s = %v, want %v", st, p[st], d)
		}
	}
	if s := p.String(); s != "COMPLETE=30d,ERROR=36h,CANCEL=90m" {
		t.Errorf("String = %q", s)
	}
	if p, err := Parse("COMPLETE=1.5d,CANCEL=45s"); err != nil || p[job.Complete] != 36*time.Hour || p[job.Cancel] != 45*time.Second {
		t.Errorf("fractions and seconds: %v, %v", p, err)
	}
	if p, err := Parse(""); err != nil || len(p) != 0 {
		t.Errorf(`Parse("") = %v, %v; want an empty policy (keep everything)`, p, err)
	}
	for _, c := range []struct{ in, want string }{
		{"DONE=3d", `unknown state "DONE" (accepted: COMPLETE, ERROR, CANCEL)`},
		{"ACTIVE=3d", `unknown state "ACTIVE"`},
		{"COMPLETE=3w", `COMPLETE=3w: unknown unit "w" (accepted: d, h, m, s)`},
		{"COMPLETE=3", `"3" is not a number with a unit`},
		{"COMPLETE=d", `not a number with a unit`},
		{"COMPLETE=0d", `not a positive number`},
		{"COMPLETE=0.1s", `less than a second`},
		{"COMPLETE", `not STATE=AGE`},
		{"COMPLETE=1d,complete=2d", `given twice`},
	} {
		_, err := Parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "retain: ") {
			t.Errorf("Parse(%q) = %v; want an error saying %s", c.in, err, c.want)
		}
	}
}
