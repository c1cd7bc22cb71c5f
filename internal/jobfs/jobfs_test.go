package jobfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostile builds a job dir whose output/ holds what a hostile job leaves,
// beside a "host" file outside it.
func hostile(t *testing.T) (jobDir, secretPath string) {
	t.Helper()
	top := t.TempDir()
	secretPath = filepath.Join(top, "admin.token")
	must(t, os.WriteFile(secretPath, []byte("SECRET"), 0o600))
	jobDir = filepath.Join(top, "jobs", "17")
	out := filepath.Join(jobDir, "output")
	must(t, os.MkdirAll(filepath.Join(out, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(out, "ok.txt"), []byte("fine\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(out, "sub", "deep.txt"), []byte("deep"), 0o644))
	must(t, os.Symlink("../../../admin.token", filepath.Join(out, "link.txt")))
	must(t, os.Symlink(secretPath, filepath.Join(out, "abs.txt")))
	must(t, os.Symlink("/proc/self/environ", filepath.Join(out, "environ.txt")))
	must(t, os.Symlink("/dev/zero", filepath.Join(out, "zero.txt")))
	must(t, os.Symlink(filepath.Dir(secretPath), filepath.Join(out, "hostdir")))
	must(t, os.Symlink("sub", filepath.Join(out, "insidedir")))
	must(t, syscall.Mkfifo(filepath.Join(out, "fifo.txt"), 0o644))
	must(t, os.Link(secretPath, filepath.Join(out, "hardlink.txt")))
	if os.Getuid() == 0 {
		must(t, syscall.Mknod(filepath.Join(out, "null.txt"), syscall.S_IFCHR|0o666, 1<<8|3))
	}
	return jobDir, secretPath
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// bothWays runs a test with openat2 and with the O_NOFOLLOW walk.
func bothWays(t *testing.T, fn func(t *testing.T)) {
	t.Run("openat2", func(t *testing.T) {
		if !haveOpenat2() {
			t.Skip("no openat2 here")
		}
		fn(t)
	})
	t.Run("walk", func(t *testing.T) {
		forceWalk = true
		defer func() { forceWalk = false }()
		fn(t)
	})
}

func TestReadRefusesWhatAJobLeaves(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		jobDir, secret := hostile(t)
		d, err := OpenDir(jobDir)
		must(t, err)
		defer d.Close()
		if b, err := d.ReadFile("output/ok.txt", 100); err != nil || string(b) != "fine\n" {
			t.Fatalf("ok.txt: %q %v", b, err)
		}
		if b, err := d.ReadFile("output/sub/deep.txt", 100); err != nil || string(b) != "deep" {
			t.Fatalf("deep.txt: %q %v", b, err)
		}
		cases := map[string]error{
			"output/link.txt":             ErrLink,
			"output/abs.txt":              ErrLink,
			"output/environ.txt":          ErrLink,
			"output/zero.txt":             ErrLink,
			"output/hostdir/admin.token":  ErrLink, // a link in a middle component
			"output/insidedir/deep.txt":   ErrLink, // even one that stays inside
			"output/fifo.txt":             ErrNotRegular,
			"output/hardlink.txt":         ErrNotRegular, // another name of the host's secret
			"output/sub":                  ErrNotRegular,
			"output/../../../admin.token": ErrBadName,
			"/" + secret:                  ErrBadName,
			"output/./ok.txt":             ErrBadName,
			"output/missing.txt":          fs.ErrNotExist,
		}
		if os.Getuid() == 0 {
			cases["output/null.txt"] = ErrNotRegular
		}
		for name, want := range cases {
			b, err := d.ReadFile(name, 1<<20)
			if !errors.Is(err, want) {
				t.Errorf("%s: got %q, %v; want %v", name, b, err, want)
				continue
			}
			if strings.Contains(err.Error(), filepath.Dir(jobDir)) && !strings.HasPrefix(name, "/") {
				t.Errorf("%s: the error names a host path: %v", name, err)
			}
			// The error names the file or the part of its path refused.
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(name, e.Name) || e.Name == "" {
				t.Errorf("%s: the error does not name the file: %v", name, err)
			}
		}
	})
}

func TestReadFileCapsSize(t *testing.T) {
	jobDir, _ := hostile(t)
	_, err := ReadFile(filepath.Join(jobDir, "output"), "ok.txt", 3)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "output/ok.txt: is too large (over 3 bytes)" {
		t.Fatalf("got %v", err)
	}
	b, cut, err := Tail(filepath.Join(jobDir, "output"), "ok.txt", 3)
	if err != nil || string(b) != "ne\n" || !cut {
		t.Fatalf("tail: %q %v %v", b, cut, err)
	}
}

func TestWalkListsRegularFilesOnly(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		jobDir, _ := hostile(t)
		var got []string
		must(t, Walk(filepath.Join(jobDir, "output"), func(rel string, info fs.FileInfo) error {
			if !info.Mode().IsRegular() || info.ModTime().Year() < 2000 {
				t.Errorf("%s: mode %v, mtime %v", rel, info.Mode(), info.ModTime())
			}
			got = append(got, rel)
			return nil
		}))
		if strings.Join(got, ",") != "ok.txt,sub/deep.txt" {
			t.Fatalf("walked %v", got)
		}
		if err := Walk(filepath.Join(jobDir, "nothing"), nil); err != nil {
			t.Fatalf("a missing dir: %v", err)
		}
	})
}

func TestCreateNeverWritesThroughALink(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		jobDir, secret := hostile(t)
		out := filepath.Join(jobDir, "output")
		for _, name := range []string{"link.txt", "abs.txt", "fifo.txt", "ok.txt", "hostdir/new.txt", "insidedir/new.txt"} {
			err := WriteFile(out, name, []byte("EVIL"), 0o644)
			if err == nil {
				t.Errorf("%s: written", name)
			}
		}
		if b, _ := os.ReadFile(secret); string(b) != "SECRET" {
			t.Fatalf("the host file changed: %q", b)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(secret), "new.txt")); err == nil {
			t.Fatal("a file was created outside through a directory link")
		}
		must(t, WriteFile(out, "sub/new.txt", []byte("x"), 0o644))
		// Records replace the entry, never what a link there points at.
		must(t, WriteJSON(filepath.Join(out, "abs.txt"), map[string]int{"a": 1}, 0o644))
		var v map[string]int
		must(t, ReadJSON(filepath.Join(out, "abs.txt"), &v))
		if b, _ := os.ReadFile(secret); string(b) != "SECRET" || v["a"] != 1 {
			t.Fatalf("record through a link: host %q, record %v", b, v)
		}
		// So do checkpoints, written durably.
		must(t, ReplaceDurable(out, "link.txt", []byte("STATE"), 0o600))
		if b, _ := os.ReadFile(secret); string(b) != "SECRET" {
			t.Fatalf("a durable replace wrote through a link: host %q", b)
		}
		if b, err := ReadFile(out, "link.txt", 100); err != nil || string(b) != "STATE" {
			t.Fatalf("durable replace: %q, %v", b, err)
		}
		if _, err := Lstat(out, "link.txt.tmp"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("durable replace left its temporary file: %v", err)
		}
	})
}

func TestRenameAndRemoveStayInside(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		jobDir, secret := hostile(t)
		d, err := OpenDir(jobDir)
		must(t, err)
		defer d.Close()
		must(t, d.RemoveAll("output/hostdir")) // the link goes, not the host dir
		if _, err := os.Stat(secret); err != nil {
			t.Fatalf("the host file went: %v", err)
		}
		must(t, d.MkdirAll("log/a", 0o755))
		must(t, d.WriteFile("log/a/job.log", []byte("root's"), 0o644))
		if err := d.RenameNoReplace("log/a/job.log", "output/link.txt"); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("rename over a job's file: %v", err)
		}
		if err := d.Rename("log/a/job.log", "output/insidedir/x"); !errors.Is(err, ErrLink) {
			t.Fatalf("rename through a link: %v", err)
		}
		must(t, d.RenameNoReplace("log/a/job.log", "output/job.log"))
		if err := d.MkdirAll("output/hostdir/x", 0o755); err != nil {
			t.Fatalf("mkdir where a link was removed: %v", err)
		}
		if err := d.MkdirAll("output/insidedir/x", 0o755); !errors.Is(err, ErrLink) {
			t.Fatalf("mkdir through a link: %v", err)
		}
		must(t, d.RemoveAll("output"))
		if _, err := os.Lstat(filepath.Join(jobDir, "output")); !os.IsNotExist(err) {
			t.Fatalf("output/ is still there: %v", err)
		}
		if b, _ := os.ReadFile(secret); string(b) != "SECRET" {
			t.Fatalf("the host file changed: %q", b)
		}
	})
}

func TestOpenDirRefusesALink(t *testing.T) {
	jobDir, _ := hostile(t)
	if _, err := OpenDir(filepath.Join(jobDir, "output", "hostdir")); !errors.Is(err, ErrLink) {
		t.Fatalf("got %v", err)
	}
}

func TestSubRefusesALink(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		jobDir, _ := hostile(t)
		d, err := OpenDir(jobDir)
		must(t, err)
		defer d.Close()
		for _, name := range []string{"output/hostdir", "output/insidedir", "output/link.txt"} {
			if _, err := d.Sub(name); !errors.Is(err, ErrLink) || !strings.HasPrefix(err.Error(), name+": ") {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := d.Sub("output/ok.txt"); err == nil || errors.Is(err, ErrLink) {
			t.Errorf("a file as a directory: %v", err)
		}
	})
}

func TestRemoveAllDeepTree(t *testing.T) {
	top := t.TempDir()
	p := filepath.Join(top, "tmp")
	for i := 0; i < 500; i++ {
		p = filepath.Join(p, "d")
	}
	must(t, os.MkdirAll(p, 0o755))
	must(t, os.WriteFile(filepath.Join(p, "f"), nil, 0o644))
	must(t, RemoveAll(top, "tmp"))
	if _, err := os.Lstat(filepath.Join(top, "tmp")); !os.IsNotExist(err) {
		t.Fatalf("tmp/ is still there: %v", err)
	}
}

// A job can nest directories far deeper than a path can name (mkdir and
// chdir, a few KB a level); removing them must neither fail nor hold a
// descriptor per level.
func TestRemoveAllDeeperThanAnyPath(t *testing.T) {
	top := t.TempDir()
	must(t, os.Mkdir(filepath.Join(top, "tmp"), 0o755))
	fd, err := syscall.Open(filepath.Join(top, "tmp"), syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	must(t, err)
	for i := 0; i < 5000; i++ {
		must(t, syscall.Mkdirat(fd, "d", 0o755))
		sub, err := syscall.Openat(fd, "d", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		must(t, err)
		syscall.Close(fd)
		fd = sub
	}
	syscall.Close(fd)
	must(t, RemoveAll(top, "tmp"))
	ents, err := os.ReadDir(top)
	must(t, err)
	if len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}
