package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/mpi"
	"github.com/bumpserve/bumpserve/internal/testenv"
)

// mpiProgram has two ranks sum their numbers and rank 0 print the sum
// with the communicator's size; then it tries the host's network.
const mpiProgram = `import ctypes, socket, sys
from mpi4py import MPI
c = MPI.COMM_WORLD
total = c.allreduce(c.rank + 1)
if c.rank == 0:
    print("size", c.size, "sum", total, flush=True)
    hdr, caps = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()
    ctypes.CDLL(None).capget(hdr, caps)
    print("caps", list(caps), flush=True)
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
        print("reached the host", flush=True)
    except OSError as e:
        print("host unreachable:", e, flush=True)
`

// needMPI skips without OpenMPI and mpi4py.
func needMPI(t *testing.T) {
	t.Helper()
	err := mpi.Installed()
	testenv.Need(t, err == nil, fmt.Sprint(err))
}

// TestMPIRanksConfined runs two MPI ranks under mpirun as one Loopback
// job, with the uid, namespaces and cgroups root gives and with only what
// any user gets: the ranks find each other (their sum is 3), and the job
// cannot reach a port listening on the host's loopback, which its own lo
// hides. Without root the namespace is made in a user namespace whose
// root the job is, with no capability. The record says what the job ran
// under. (TestAsNonRoot runs it as nobody.)
func TestMPIRanksConfined(t *testing.T) {
	needMPI(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{UIDs: [2]int{68600, 68609}}},
		{"unprivileged", Config{UIDs: [2]int{68610, 68619}, Unprivileged: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			sb := newSandbox(t, c.cfg)
			data := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(data, 0o700); err != nil {
				t.Fatal(err)
			}
			// vader's backing files (sparse, some MB a rank) count as
			// the job's files.
			l := testLimits
			l.DiskMB = 256
			j := newJob(t, data, 1, l)
			j.Loopback = true
			prog := filepath.Join(j.Input, "ranks.py")
			if err := os.WriteFile(prog, []byte(mpiProgram), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			argv := mpi.Args(2, "/usr/bin/python3", prog, port)
			var out strings.Builder
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}, mpi.Env(j.Temp)...)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := sb.Run(ctx, cmd, j)
			if err != nil || !strings.Contains(out.String(), "size 2 sum 3\n") {
				t.Fatalf("two ranks did not run confined: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "host unreachable") {
				t.Errorf("a rank reached the host's loopback:\n%s", out.String())
			}
			// As root of its user namespace (without root on the host)
			// the job must still have no capability.
			if (os.Geteuid() != 0 || !c.cfg.Unprivileged) && !strings.Contains(out.String(), "caps [0, 0, 0, 0, 0, 0]\n") {
				t.Errorf("the job kept capabilities:\n%s", out.String())
			}
			if !slices.Contains(j.Protections, ProtNetNSLoopback) || slices.Contains(j.Protections, ProtNetNS) {
				t.Errorf("protections %v: want %s instead of %s", j.Protections, ProtNetNSLoopback, ProtNetNS)
			}
			t.Logf("protections %v; output:\n%s", j.Protections, out.String())
		})
	}
}
