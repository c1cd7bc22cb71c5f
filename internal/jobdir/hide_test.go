package jobdir

import "testing"

func TestHide(t *testing.T) {
	t.Parallel()
	d := Dir("/srv/bumpserve/var/jobs/17")
	for in, want := range map[string]string{
		"model opened /srv/bumpserve/var/jobs/17/input/sub/data.txt":       "model opened sub/data.txt",
		"open /srv/bumpserve/var/jobs/17/output/store/x.par: no such file": "open output/store/x.par: no such file",
		"mkdir /srv/bumpserve/var/jobs/17/tmp: read-only file system":      "mkdir tmp: read-only file system",
		"lock /srv/bumpserve/var/jobs/17/proc.json":                        "lock the job's directory/proc.json",
		"stat /srv/bumpserve/var/tmp/stage-1":                              "stat the data directory/tmp/stage-1",
		"nothing to hide in /usr/bin/bumps":                                "nothing to hide in /usr/bin/bumps",
	} {
		if got := d.Hide(in); got != want {
			t.Errorf("Hide(%q) = %q, want %q", in, got, want)
		}
	}
}
