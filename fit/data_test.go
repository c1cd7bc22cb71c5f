package fit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFilesNamesFileLineAndColumn feeds bad data files to the check a
// submission goes through and expects each refusal to say which file,
// line and column, in the user's names (never the server's directory).
func TestCheckFilesNamesFileLineAndColumn(t *testing.T) {
	t.Parallel()
	const spec = `{"parameters": {"a": {"value": 1}, "b": {"value": 0}},
		"datasets": [{"model": "a*x + b", "file": "data.txt", "columns": ["x", "y", "dy"]}]}`
	for _, c := range []struct{ content, want string }{
		{"1 2 0.1\n2 abc 0.1\n", `datasets[0].file: data.txt line 2, column 2: "abc" is not a number`},
		{"# x y dy\n1 2 0.1\n\n2 4\n", `datasets[0].file: data.txt line 4, column 3: missing; the line has 2 fields, but columns names 3 (x y dy)`},
		{"1 2 0.1\n2 4 0.1 9\n", `datasets[0].file: data.txt line 2, column 4: "9" is one field too many`},
		{"1 2 0.1\n2 NaN 0.1\n", `datasets[0].file: data.txt line 2, column 2: "NaN" is not a finite number`},
		{"1 2 0.1\n2 1e999 0.1\n", `datasets[0].file: data.txt line 2, column 2: "1e999" is not a finite number`},
		{"1 2 0.1\n2 4 0\n", `datasets[0].file: data.txt line 2, column 3: dy "0" must be positive`},
		{"", `datasets[0].file: data.txt: no data lines; the file is empty`},
		{"# only a header\n\n", `datasets[0].file: data.txt: no data lines, only comments and blank lines`},
		{strings.Repeat("1", 2<<20), `datasets[0].file: data.txt line 1: longer than 1 MiB`},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := ParseSpec([]byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		err = s.CheckFiles(dir)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("data %.40q:\n error %v\n want  %s", c.content, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), dir) {
			t.Errorf("error %q names the server's directory", err)
		}
	}
}

func TestCheckFilesNamesMissingUploads(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(`{"parameters": {"a": {"value": 1}},
		"datasets": [{"model": "a*x", "x": [1, 2], "y": [1, 2]}, {"model": "a*x", "file": "data.txt", "columns": ["x", "y"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckFiles(""); err == nil || err.Error() != "datasets[1].file: data.txt was not uploaded; uploaded: none" {
		t.Errorf("no uploads: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.txt"), []byte("1 2\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "data.txt"), []byte("1 2\n"), 0o644)
	if err := s.CheckFiles(dir); err == nil || err.Error() != "datasets[1].file: data.txt was not uploaded; uploaded: model.txt, sub/data.txt" {
		t.Errorf("other uploads: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "data.txt"), []byte("1 2\n2 4.5\n"), 0o644)
	if err := s.CheckFiles(dir); err != nil {
		t.Errorf("good file refused: %v", err)
	}
	if s.Datasets[1].Y != nil {
		t.Error("CheckFiles kept the data it read")
	}
	if _, err := ParseSpec([]byte(`{"parameters": {"a": {"value": 1}},
		"datasets": [{"model": "a", "file": "data.txt", "columns": ["y", "dy"]}]}`)); err == nil ||
		!strings.Contains(err.Error(), "datasets[0].columns: no independent variable") {
		t.Errorf("columns without a variable: %v", err)
	}
}
