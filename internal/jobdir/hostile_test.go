package jobdir

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/archive"
)

// TestListAndArchiveOnlyCleanRegularFiles fills output/ as a hostile job
// could: links to a host file and directory, a FIFO, names with
// backslashes, "..\", a drive letter, a carriage return and an escape.
// Listing, opening and archiving show only the clean regular files, with
// their real modification times.
func TestListAndArchiveOnlyCleanRegularFiles(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	secret := filepath.Join(top, "admin.token")
	os.WriteFile(secret, []byte("SECRET"), 0o600)
	d := Dir(filepath.Join(top, "jobs", "7"))
	out := d.Output()
	os.MkdirAll(filepath.Join(out, "sub"), 0o755)
	os.MkdirAll(d.Input(), 0o755)
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, n := range []string{"fit.txt", "sub/plot.svg"} {
		os.WriteFile(filepath.Join(out, n), []byte("ok"), 0o644)
		os.Chtimes(filepath.Join(out, n), when, when)
	}
	for _, n := range []string{`..\..\evil.txt`, `C:\evil.txt`, "C:evil", "line\rforged", "esc\x1b[31m"} {
		if err := os.WriteFile(filepath.Join(out, n), []byte("SECRET-NAME"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(secret, filepath.Join(out, "token.txt"))
	os.Symlink(top, filepath.Join(out, "hostdir"))
	syscall.Mkfifo(filepath.Join(out, "fifo.txt"), 0o644)

	files, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	if want := "[output/fit.txt output/sub/plot.svg]"; fmt.Sprint(got) != want {
		t.Fatalf("listed %v, want %s", got, want)
	}
	for _, p := range []string{"output/token.txt", "output/hostdir/admin.token", "output/fifo.txt", `output/C:\evil.txt`, "output/../admin.token"} {
		if f, _, err := d.Open(p); err == nil {
			f.Close()
			t.Errorf("%s was opened", p)
		}
	}

	var buf bytes.Buffer
	if err := archive.WriteTar(&buf, out); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(when) {
			t.Errorf("%s is dated %v, want %v", h.Name, h.ModTime, when)
		}
		if b, _ := io.ReadAll(tr); bytes.Contains(b, []byte("SECRET")) {
			t.Errorf("%s holds a secret", h.Name)
		}
	}
	if want := "[fit.txt sub/plot.svg]"; fmt.Sprint(names) != want {
		t.Fatalf("archived %v, want %s", names, want)
	}
}

// TestRunningLogIsServedAsOutputJobLog: while an attempt runs, its log
// (kept where the job cannot reach it) is listed and served as
// output/job.log; once published, the published one is.
func TestRunningLogIsServedAsOutputJobLog(t *testing.T) {
	t.Parallel()
	d := Dir(filepath.Join(t.TempDir(), "jobs", "3"))
	if err := d.Prepare(1); err != nil {
		t.Fatal(err)
	}
	f, err := d.OpenLog()
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("running\n")
	f.Close()
	files, _ := d.List()
	if fmt.Sprint(files) != "[{output/job.log 8}]" {
		t.Fatalf("listed %v", files)
	}
	if b, cut, err := d.LogTail(100); err != nil || string(b) != "running\n" || cut {
		t.Fatalf("tail: %q %v %v", b, cut, err)
	}
	// A job's link under the name is neither followed nor listed: the
	// root side's log is served, and it cannot be published over it.
	os.Symlink("/etc/hostname", filepath.Join(d.Output(), LogName))
	if files, _ := d.List(); fmt.Sprint(files) != "[{output/job.log 8}]" {
		t.Fatalf("listed with a planted link %v", files)
	}
	rc, _, err := d.Open("output/job.log")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "running\n" {
		t.Fatalf("served %q", b)
	}
	if err := d.PublishLog(); err == nil {
		t.Fatal("published over the job's link")
	}
	os.Remove(filepath.Join(d.Output(), LogName))
	if err := d.PublishLog(); err != nil {
		t.Fatal(err)
	}
	if rc, _, err = d.Open("output/job.log"); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	files, _ = d.List()
	if fmt.Sprint(files) != "[{output/job.log 8}]" {
		t.Fatalf("listed after publishing %v", files)
	}
	// A next attempt keeps an unfinished log aside.
	if f, err = d.OpenLog(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.Prepare(2); err != nil {
		t.Fatal(err)
	}
	if files, _ = d.List(); len(files) != 0 {
		t.Fatalf("a new attempt starts with %v", files)
	}
}

// A job that leaves many files with unclean names costs one log line per
// listing, not one per file.
func TestUncleanNamesLoggedOncePerListing(t *testing.T) {
	d := Dir(t.TempDir())
	if err := os.MkdirAll(d.Output(), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if err := os.WriteFile(filepath.Join(d.Output(), fmt.Sprintf("x\n%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logged bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(prev)
	if _, err := d.List(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logged.String(), "\n"); n != 1 || !strings.Contains(logged.String(), "files=500") {
		t.Fatalf("one listing logged %d lines:\n%.500s", n, logged.String())
	}
}
