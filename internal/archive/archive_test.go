package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a.txt", "sub/b.dat", "x..y", ".hidden"} {
		if got, err := CleanName(ok); err != nil || got != ok {
			t.Errorf("CleanName(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "a/../../b", "a//b", "./a", "a/.", "a\x00b", `a\b`, "C:x", "c:/x", "a\rb", strings.Repeat("x", 256)} {
		if _, err := CleanName(bad); err == nil {
			t.Errorf("CleanName(%q) accepted", bad)
		}
	}
}

func tarOf(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestTarRoundTripAndRefusals(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("world"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(src, "link"))
	var buf bytes.Buffer
	if err := WriteTar(&buf, src); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := ExtractTar(&buf, dst, 1<<20, 10); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a.txt": "hello", "sub/b.txt": "world"} {
		if b, err := os.ReadFile(filepath.Join(dst, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dst, "link")); err == nil {
		t.Error("a link was archived")
	}

	outside := filepath.Join(t.TempDir(), "escaped")
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"traversal": {tarOf(t, &tar.Header{Name: "../escaped", Typeflag: tar.TypeReg, Size: 1}), nil},
		"absolute":  {tarOf(t, &tar.Header{Name: outside, Typeflag: tar.TypeReg, Size: 1}), nil},
		"symlink":   {tarOf(t, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}), nil},
		"too large": {tarOf(t, &tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 2048}), ErrTooLarge},
		"too many":  {tarOf(t, &tar.Header{Name: "1", Typeflag: tar.TypeReg}, &tar.Header{Name: "2", Typeflag: tar.TypeReg}, &tar.Header{Name: "3", Typeflag: tar.TypeReg}), nil},
	} {
		err := ExtractTar(bytes.NewReader(tc.data), t.TempDir(), 1024, 2)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := os.Stat(outside); err == nil {
		t.Error("an archive wrote outside its directory")
	}
}
