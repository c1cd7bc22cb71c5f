package jobdir

import (
	"os"
	"path/filepath"
	"testing"
)

// A first attempt of a job without uploads makes its directory and an
// empty output/; one with uploads keeps them; either way output/ is
// there and empty.
func TestPrepareFreshAndUploaded(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	fresh := Dir(filepath.Join(top, "1"))
	uploaded := Dir(filepath.Join(top, "2"))
	if err := os.MkdirAll(uploaded.Input(), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(uploaded.Input(), "data.txt"), []byte("1 2\n"), 0o644)
	for _, d := range []Dir{fresh, uploaded} {
		if err := d.Prepare(1); err != nil {
			t.Fatalf("prepare %s: %v", d, err)
		}
		if ents, err := os.ReadDir(d.Output()); err != nil || len(ents) != 0 {
			t.Fatalf("%s output/ = %v, %v; want empty", d, ents, err)
		}
	}
	if files, err := uploaded.ListInput(); err != nil || len(files) != 1 {
		t.Fatalf("uploads after prepare = %v, %v", files, err)
	}
}
