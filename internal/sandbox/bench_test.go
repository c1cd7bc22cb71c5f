package sandbox

import (
	"context"
	"os/exec"
	"testing"

	"github.com/bumpserve/bumpserve/internal/proc"
)

// The cost of confinement at job start: run /bin/true plainly (process
// group, pid file) and through the sandbox (helper re-exec, and as root
// namespaces, a private root, cgroups and a user of its own). As root
// the helper runs twice (pid 1 of the job's pid namespace, then the
// confining child), so one more start of this binary per job. Compare:
//
//	go test -run '^$' -bench Start -benchtime 200x ./internal/sandbox/
func BenchmarkStartPlain(b *testing.B) {
	env := setup(b).env
	for b.Loop() {
		if err := proc.Run(context.Background(), exec.Command("/bin/true"), env.PIDFile); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStartConfined(b *testing.B) {
	t := setup(b)
	for b.Loop() {
		if err := t.sb.Run(context.Background(), exec.Command("/bin/true"), t.env); err != nil {
			b.Fatal(err)
		}
	}
}
