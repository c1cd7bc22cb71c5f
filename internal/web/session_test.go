package web

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The CSRF key outlives the server (forms served before a restart still
// post), is private to it, and a file too short to be a key is replaced.
func TestSessionKeyIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.key")
	first, err := loadSecret(path)
	if err != nil || len(first) != 32 {
		t.Fatalf("first key: %d bytes, %v", len(first), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	again, err := loadSecret(path)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the key read back differs (%v)", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := loadSecret(path)
	if err != nil || len(fresh) != 32 || bytes.Equal(fresh, first) {
		t.Fatalf("a short key file gave %d bytes, %v; want a new 32-byte key", len(fresh), err)
	}
	if kept, _ := os.ReadFile(path); !bytes.Equal(kept, fresh) {
		t.Errorf("the new key was not written")
	}
}
