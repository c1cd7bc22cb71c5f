package main

import (
	"errors"
	"flag"
	"net/http"
	"strconv"

	"github.com/bumpserve/bumpserve/client"
)

// clientFlags are the connection flags every client command takes.
type clientFlags struct {
	server, token, caFile string
}

var clientEnv = map[string]string{"server": "BUMPSERVE_SERVER", "token": "BUMPSERVE_TOKEN", "ca-file": "BUMPSERVE_CA_FILE"}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "server URL, e.g. http://127.0.0.1:8080 (env BUMPSERVE_SERVER)")
	fs.StringVar(&c.token, "token", "", "API token (env BUMPSERVE_TOKEN)")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file of a private CA to trust for HTTPS (env BUMPSERVE_CA_FILE)")
}

func (c *clientFlags) client() (*client.Client, error) { return c.clientWith(client.Options{}) }

// clientWith is client with more options (the CA file is the flag's).
func (c *clientFlags) clientWith(opt client.Options) (*client.Client, error) {
	if c.token == "" {
		return nil, usagef("token: missing (use --token TOKEN or BUMPSERVE_TOKEN)")
	}
	opt.CAFile = c.caFile
	cl, err := client.New(c.server, c.token, opt)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return cl, nil
}

// parseID reads a job id argument.
func parseID(args []string, what string) (int64, error) {
	if len(args) != 1 {
		return 0, usagef("%s: expected one job id, got %d arguments", what, len(args))
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s: %q is not a job id (a positive number)", what, args[0])
	}
	return id, nil
}

// isBadInput reports whether the server refused the request as malformed.
func isBadInput(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && (e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge ||
		e.Status == http.StatusUnsupportedMediaType)
}
