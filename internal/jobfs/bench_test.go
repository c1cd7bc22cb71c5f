package jobfs

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadFile compares a capped read through the door with a plain
// os.ReadFile of the same small file (a .par).
func BenchmarkReadFile(b *testing.B) {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "output", "store"), 0o755)
	os.WriteFile(filepath.Join(dir, "output", "store", "m.par"), make([]byte, 300), 0o644)
	b.Run("jobfs", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadFile(dir, "output/store/m.par", 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.ReadFile(filepath.Join(dir, "output", "store", "m.par")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateRename is what a job's end costs: results.json made
// O_EXCL and the log moved into output/ without replacing.
func BenchmarkCreateRename(b *testing.B) {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "output"), 0o755)
	d, err := OpenDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for b.Loop() {
		if err := d.WriteFile("job.log", []byte("log\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := d.WriteFile("output/results.json", []byte("{}\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := d.RenameNoReplace("job.log", "output/job.log"); err != nil {
			b.Fatal(err)
		}
		d.Remove("output/job.log")
		d.Remove("output/results.json")
	}
}
