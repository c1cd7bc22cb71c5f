package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
)

// listen opens a datagram socket like the one systemd gives a service.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotifyPathSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	conn := listen(t, path)
	t.Setenv(Socket, path)
	if err := Notify("READY=1\nSTATUS=serving"); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); got != "READY=1\nSTATUS=serving" {
		t.Errorf("received %q", got)
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := "bumpserve-sdnotify-test-" + filepath.Base(t.TempDir())
	conn := listen(t, "\x00"+name)
	t.Setenv(Socket, "@"+name)
	if err := Notify("STOPPING=1"); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); got != "STOPPING=1" {
		t.Errorf("received %q", got)
	}
}

func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv(Socket, "")
	if err := Notify("READY=1"); err != nil {
		t.Errorf("no socket: %v, want nothing done", err)
	}
	t.Setenv(Socket, "relative/path")
	if err := Notify("READY=1"); err == nil {
		t.Error("a relative socket path was accepted")
	}
	t.Setenv(Socket, filepath.Join(t.TempDir(), "nobody-listens"))
	if err := Notify("READY=1"); err == nil {
		t.Error("a socket nobody listens on was not reported")
	}
}
