package jobdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUploaded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if got := Uploaded(dir); got != "none" {
		t.Errorf("empty: %q", got)
	}
	if got := Uploaded(""); got != "none" {
		t.Errorf("no dir: %q", got)
	}
	for i := range 25 {
		os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.txt", i)), nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "sub", "a.dat"), nil, 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	got := Uploaded(dir)
	if !strings.HasPrefix(got, "f00.txt, f01.txt,") || !strings.HasSuffix(got, "f19.txt and 6 more") || strings.Contains(got, dir) {
		t.Errorf("Uploaded = %q", got)
	}
}
