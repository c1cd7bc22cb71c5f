package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// A worker unpacks tars the controller sends, and the controller unpacks
// tars workers send: either side may be hostile. These fuzz targets hold
// ExtractTar and CleanName to their promise: never a panic, never a write
// outside the target directory, and every refusal an error.
//
// In CI only the seeds run (as plain tests). To search for longer (a
// short minimization: the default 60s stalls these slow targets):
//
//	go test ./internal/archive -run '^$' -fuzz '^FuzzExtractTar$' -fuzztime 10m -fuzzminimizetime 10s
//	go test ./internal/archive -run '^$' -fuzz '^FuzzCleanName$' -fuzztime 10m -fuzzminimizetime 10s

// Limits the fuzzed extraction runs under: small, so the size and count
// checks are reachable from short inputs.
const (
	fuzzLimit    = 4096
	fuzzMaxFiles = 8
)

// seedTar builds an archive from headers, filling each regular file with
// its announced size (or body, when given).
func seedTar(entries ...struct {
	h    tar.Header
	body string
}) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.h
		if h.Typeflag == tar.TypeReg && e.body != "" {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		tw.WriteHeader(&h)
		if h.Typeflag == tar.TypeReg {
			body := e.body
			if body == "" {
				body = strings.Repeat("x", int(h.Size))
			}
			io.WriteString(tw, body)
		}
	}
	tw.Close()
	return buf.Bytes()
}

type entry = struct {
	h    tar.Header
	body string
}

func reg(name, body string) entry {
	return entry{tar.Header{Name: name, Typeflag: tar.TypeReg}, body}
}

func FuzzExtractTar(f *testing.F) {
	for _, seed := range [][]entry{
		{reg("a.txt", "hello"), reg("sub/b.txt", "world")},
		{{h: tar.Header{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o755}}, reg("sub/c", "1")},
		{reg("../escaped", "x")},
		{reg("/abs/escaped", "x")},
		{reg("a/../../escaped", "x")},
		{reg("./a", "x")},
		{reg("link/through", "x")}, // link is a symlink planted in the target
		{reg("inside/then", "x")},  // inside is a symlink to a sibling in the target
		{{h: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}}},
		{{h: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "a.txt"}}},
		{{h: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}},
		{{h: tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: fuzzLimit + 1}}},
		{reg("dup", "1"), reg("dup", "2")},
		{reg("1", "a"), reg("2", "b"), reg("3", "c"), reg("4", "d"), reg("5", "e"), reg("6", "f"), reg("7", "g"), reg("8", "h"), reg("9", "i")},
		{reg("a\\b", "x")},
		{reg("nul\x00name", "x")},
		{reg(strings.Repeat("d/", 200)+"f", "x")},
		{{h: tar.Header{Name: "pax", Typeflag: tar.TypeReg, Size: 3, PAXRecords: map[string]string{"path": "../paxescape"}, Format: tar.FormatPAX}}},
		{{h: tar.Header{Name: strings.Repeat("long", 40), Typeflag: tar.TypeReg, Size: 2, Format: tar.FormatGNU}}},
	} {
		f.Add(seedTar(seed...))
	}
	f.Add([]byte{})
	f.Add([]byte("not a tar at all"))
	f.Add(make([]byte, 1024)) // the end-of-archive marker alone

	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		target := filepath.Join(base, "target")
		outside := filepath.Join(base, "outside")
		for _, d := range []string{filepath.Join(target, "real"), outside} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// Links a previous step (or a hostile job) left in the target:
		// extraction must never write through one to the outside.
		os.Symlink(outside, filepath.Join(target, "link"))
		os.Symlink("real", filepath.Join(target, "inside"))

		err := ExtractTar(bytes.NewReader(data), target, fuzzLimit, fuzzMaxFiles)

		if ents, _ := os.ReadDir(outside); len(ents) > 0 {
			t.Fatalf("extraction wrote %q outside the target (err %v)", ents[0].Name(), err)
		}
		if ents, _ := os.ReadDir(base); len(ents) != 2 {
			t.Fatalf("extraction created %d entries beside the target (err %v)", len(ents)-2, err)
		}
		var total int64
		files := 0
		filepath.WalkDir(target, func(p string, e fs.DirEntry, werr error) error {
			if werr != nil || p == target {
				return werr
			}
			rel, _ := filepath.Rel(target, p)
			switch {
			case rel == "link" || rel == "inside":
				if e.Type()&fs.ModeSymlink == 0 {
					t.Errorf("the planted link %s was replaced", rel)
				}
			case e.IsDir():
			case e.Type().IsRegular():
				info, _ := e.Info()
				total += info.Size()
				files++
			default:
				t.Errorf("extraction made %s of type %v", rel, e.Type())
			}
			return nil
		})
		if total > fuzzLimit {
			t.Errorf("extracted %d bytes, limit %d (err %v)", total, fuzzLimit, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Error("a refusal with an empty message")
			}
			return
		}
		if files > fuzzMaxFiles {
			t.Errorf("extracted %d files, limit %d", files, fuzzMaxFiles)
		}
		// Accepted: every regular entry is there, under its clean name,
		// with its content (read back through the planted "inside" link
		// when the name goes that way, as the extraction did).
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			if _, cerr := CleanName(h.Name); cerr != nil {
				t.Fatalf("accepted an archive with the name %q: %v", h.Name, cerr)
			}
			want, _ := io.ReadAll(tr)
			got, rerr := os.ReadFile(filepath.Join(target, filepath.FromSlash(h.Name)))
			if rerr != nil || !bytes.Equal(got, want) {
				t.Errorf("entry %q: extracted %q, %v; archive holds %q", h.Name, got, rerr, want)
			}
		}
	})
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{
		"a.txt", "sub/b.dat", "x..y", ".hidden", "", "/etc/passwd", "../x", "a/../../b",
		"a//b", "./a", "a/.", "a\x00b", `a\b`, "a/", "..", ".", "...", "a\u202eb", "\xff\xfe", "a\u0085b", "a\u2028b", "a\u2066b", "\xc0\xaf",
		strings.Repeat("x", 256), strings.Repeat("a/", 600), "C:/x", "~/x", "a\x7fb",
	} {
		f.Add(s)
	}
	base := filepath.Join(string(filepath.Separator), "data", "jobs", "1", "input")
	f.Fuzz(func(t *testing.T, name string) {
		got, err := CleanName(name)
		if err != nil {
			if got != "" || err.Error() == "" {
				t.Fatalf("CleanName(%q) = %q with error %q", name, got, err)
			}
			return
		}
		if got != name {
			t.Fatalf("CleanName(%q) accepted it as %q: a name is accepted as sent or refused", name, got)
		}
		if path.Clean(got) != got || path.IsAbs(got) || strings.ContainsAny(got, "\\\x00") || !utf8.ValidString(got) ||
			strings.ContainsFunc(got, func(c rune) bool {
				return c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == 0x202e || c == 0x2066
			}) {
			t.Fatalf("CleanName accepted %q, which is not clean and relative", got)
		}
		joined := filepath.Join(base, filepath.FromSlash(got))
		if rel, err := filepath.Rel(base, joined); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || rel == "." {
			t.Fatalf("CleanName accepted %q, which leads to %s outside %s", got, joined, base)
		}
	})
}
