package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.conf")
	os.WriteFile(cfg, []byte("# comment\naddr = 127.0.0.1:9999\nworkers = 3\ndata = \"/from/config\"\n"), 0o644)

	fs := newFlags("t", "")
	fs.String("config", "", "")
	addr := fs.String("addr", "default", "")
	workers := fs.Int("workers", 1, "")
	data := fs.String("data", "", "")
	t.Setenv("TEST_BUMPSERVE_DATA", "/from/env")
	// Flags after positional arguments, "--" ending flags, env beating the
	// file, the command line beating both.
	pos, err := parseFlags(fs, []string{"a", "--config", cfg, "b", "--workers", "5", "--", "--not-a-flag"},
		map[string]string{"data": "TEST_BUMPSERVE_DATA"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, " ") != "a b --not-a-flag" {
		t.Errorf("positional = %q", pos)
	}
	if *addr != "127.0.0.1:9999" || *workers != 5 || *data != "/from/env" {
		t.Errorf("addr %q workers %d data %q", *addr, *workers, *data)
	}

	os.WriteFile(cfg, []byte("colour = red\n"), 0o644)
	fs2 := newFlags("t", "")
	fs2.String("config", "", "")
	_, err = parseFlags(fs2, []string{"--config", cfg}, nil)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown setting "colour"`) {
		t.Errorf("unknown setting: %v", err)
	}
	_, err = parseFlags(newFlags("t", ""), []string{"--nope"}, nil)
	if !errors.As(err, &ue) {
		t.Errorf("unknown flag: %v", err)
	}
}

// Bad flags to serve, worker and bench stop them at once: exit 2, naming the flag.
func TestBadServeFlags(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--data", data, "--workers", "-1"}, "workers"},
		{[]string{"serve", "--data", data, "--executor", "slurm", "--slurm-max-jobs", "-1"}, "slurm-max-jobs"},
		{[]string{"serve", "--data", data, "--executor", "pbs"}, "executor"},
		{[]string{"serve", "--data", data, "--legacy-worker-services", "count,two words"}, "legacy-worker-services"},
		// Retention: an unknown or live state, an unknown unit.
		{[]string{"serve", "--data", data, "--retain", "COMPLETE=30d,DONE=3d"}, `unknown state "DONE"`},
		{[]string{"serve", "--data", data, "--retain", "PENDING=1d"}, `unknown state "PENDING"`},
		{[]string{"serve", "--data", data, "--retain", "COMPLETE=3w"}, `unknown unit "w" (accepted: d, h, m, s)`},
		{[]string{"serve", "--data", data, "--retain", "CANCEL"}, "retain"},
		{[]string{"serve", "--data", data, "--user-disk-mb", "-5"}, "user-disk-mb"},
		{[]string{"worker", "--server", "http://127.0.0.1:1", "--token", "x", "--slots", "0"}, "slots"},
		{[]string{"bench", "--store", "mysql://u@h/db"}, "store"},
	} {
		if _, errOut, code := bs(t, nil, c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("bumpserve %v: exit %d, %q; want 2 naming %s", c.args, code, errOut, c.want)
		}
	}
}
