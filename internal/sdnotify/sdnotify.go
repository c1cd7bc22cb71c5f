// Package sdnotify tells systemd (or anything that speaks its protocol)
// how a service is doing: READY=1 once it serves, STOPPING=1 when it
// begins to drain. The protocol is one datagram of "KEY=VALUE" lines to
// the unix socket named in $NOTIFY_SOCKET (a leading "@" names an
// abstract socket); see sd_notify(3). It is small enough to write here
// rather than pull in a library for.
package sdnotify

import (
	"fmt"
	"net"
	"os"
)

// Socket is the environment variable the service manager sets.
const Socket = "NOTIFY_SOCKET"

// Notify sends state ("READY=1", "STOPPING=1", "STATUS=…") to the socket
// in $NOTIFY_SOCKET. With no such variable (not started by systemd, or
// Type=simple) it does nothing and reports no error.
func Notify(state string) error {
	path := os.Getenv(Socket)
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	} else if path[0] != '/' {
		return fmt.Errorf("sd_notify: %s=%q is neither an absolute path nor an abstract socket", Socket, path)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
