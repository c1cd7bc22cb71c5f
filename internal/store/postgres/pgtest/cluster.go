package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// Bin is where Debian's PostgreSQL 15 programs are.
const Bin = "/usr/lib/postgresql/15/bin"

// Cluster is a PostgreSQL server of one test's own, for tests that stop
// and restart it (the shared one, other tests use at the same time). It
// runs as the postgres user (PostgreSQL refuses root), on a free port,
// with fsync off, and is removed when the test ends.
type Cluster struct {
	URL  string
	dir  string
	port int
	t    testing.TB
}

// NewCluster makes and starts a cluster; without PostgreSQL's programs
// or root the test skips (fails under CI=true).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	pg, err := user.Lookup("postgres")
	if _, serr := os.Stat(filepath.Join(Bin, "initdb")); serr != nil || err != nil || os.Geteuid() != 0 {
		msg := "a cluster of its own needs root, the postgres user and " + Bin + " (apt-get install postgresql-15; scripts/install-deps)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "bumpserve-pg-")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c := &Cluster{dir: dir, port: port, t: t,
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(Bin, "pg_ctl"), "-D", c.data(), "-m", "immediate", "stop").Run()
		os.RemoveAll(dir)
	})
	c.Start()
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) run(prog string, args ...string) {
	c.t.Helper()
	out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(Bin, prog)}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-w", "-l", filepath.Join(c.dir, "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir), "start")
}

// Stop stops the server at once, cutting every connection (as a crash or
// an operator's restart would).
func (c *Cluster) Stop() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-w", "-m", "fast", "stop")
}
