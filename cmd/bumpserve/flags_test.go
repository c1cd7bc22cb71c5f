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
