package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequire shows Config.Require refusing jobs on a host that cannot
// give the protections, before anything of the job runs.
func TestRequire(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Require: []string{"landlok"}, UIDs: [2]int{63990, 63999}}); err == nil || !strings.Contains(err.Error(), `"landlok"`) {
		t.Errorf("an unknown protection was accepted or not named: %v", err)
	}
	cases := []struct {
		require []string
		refused bool
	}{
		{[]string{"basic"}, false},
		{[]string{"landlock-v6", "seccomp-inet"}, false},
		{[]string{"landlock-v99"}, true},
		// strict needs root (a user per job, namespaces, cgroups).
		{[]string{"strict"}, os.Geteuid() != 0},
	}
	for i, c := range cases {
		// A UID range per sandbox: New sweeps its range's cgroups.
		sb := newSandbox(t, Config{Require: c.require, UIDs: [2]int{63000 + 10*i, 63009 + 10*i}})
		b := setup(t)
		b.sb = sb
		mark := filepath.Join(b.env.Output, "ran")
		_, err := b.run(t, "/usr/bin/touch", mark)
		_, ran := os.Stat(mark)
		switch {
		case c.refused && (err == nil || !strings.Contains(err.Error(), "cannot give the required protections")):
			t.Errorf("Require %v: not refused: %v", c.require, err)
		case c.refused && ran == nil:
			t.Errorf("Require %v: refused, but the job ran", c.require)
		case !c.refused && err != nil:
			t.Errorf("Require %v: refused on a host that gives %v: %v", c.require, sb.Available(), err)
		}
		t.Logf("Require %v: %v", c.require, err)
	}
}
