package fit

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideMarker fills a data file beside (not inside) the input directory:
// if a fuzzed dataset ever loads it, a file name escaped the input.
const outsideMarker = "424242"

// FuzzDataFile feeds arbitrary file contents, column lists and file names
// to the loader of {"file": ..., "columns": [...]} datasets, the way Run
// reaches it after ParseSpec: no panic, a refusal is an error, a file
// outside the job's input is never read, and loaded data is consistent
// (equal lengths, finite values, positive dy).
//
// In CI only the seeds run (as plain tests). To search for longer (a
// short minimization: the default 60s stalls these slow targets):
//
//	go test ./fit -run '^$' -fuzz '^FuzzDataFile$' -fuzztime 10m -fuzzminimizetime 10s
func FuzzDataFile(f *testing.F) {
	for _, s := range []struct{ content, columns, name string }{
		{"1 2 0.1\n2 4 0.1\n3 6 0.1\n", "x,y,dy", "data.txt"},
		{"# x y\n1, 2\n\n2, 4 # comment\r\n3,6\n", "x,y", "data.txt"},
		{"1\t2\t3\t4\n", "t,T,y,dy", "sub/data.dat"},
		{"1 2 0\n", "x,y,dy", "data.txt"},
		{"1 NaN 1\n", "x,y,dy", "data.txt"},
		{"1 +Inf 1\n", "x,y,dy", "data.txt"},
		{"1 0x1p-2 1\n", "x,y,dy", "data.txt"},
		{"1 2 3 4\n", "x,y,dy", "data.txt"},
		{"1 2\n", "x,y,dy", "data.txt"},
		{"a b c\n", "x,y,dy", "data.txt"},
		{"", "x,y,dy", "data.txt"},
		{"1 2\n", "y", "data.txt"},
		{"1 2\n", "x,y", "../outside.txt"},
		{"1 2\n", "x,y", "/etc/hostname"},
		{"1 2\n", "x,y", "escape/outside.txt"},
		{"1 2\n", "x,y", "missing.txt"},
		{"1 2\n", "x,x,y", "data.txt"},
		{"1 2\n", "x,1y", "data.txt"},
		{strings.Repeat("9", 70<<10) + " 1\n", "x,y", "data.txt"},
		{"1 2\x00 3\n", "x,y,dy", "data.txt"},
	} {
		f.Add([]byte(s.content), s.columns, s.name)
	}
	f.Fuzz(func(t *testing.T, content []byte, columns, name string) {
		base := t.TempDir()
		input := filepath.Join(base, "input")
		os.Mkdir(input, 0o755)
		secret := outsideMarker + " " + outsideMarker + " " + outsideMarker + "\n"
		os.WriteFile(filepath.Join(base, "outside.txt"), []byte(secret), 0o644)
		os.Symlink(base, filepath.Join(input, "escape")) // a link out of the input
		os.WriteFile(filepath.Join(input, "data.txt"), content, 0o644)
		os.Mkdir(filepath.Join(input, "sub"), 0o755)
		os.WriteFile(filepath.Join(input, "sub", "data.dat"), content, 0o644)

		if name == "" {
			return // not a file dataset: inline data is FuzzParseSpec's
		}
		d := Dataset{Model: "y", File: name}
		if columns != "" {
			d.Columns = strings.Split(columns, ",")
		}
		if err := d.checkSource("datasets[0]"); err != nil {
			return // ParseSpec refuses it before any file is read
		}
		// The submission's check (which keeps no data) and the run's load
		// refuse exactly the same files, with the same words.
		checked := (&Spec{Datasets: []Dataset{d}}).CheckFiles(input)
		err := d.load(input, "datasets[0]")
		if fmt.Sprint(checked) != fmt.Sprint(err) {
			t.Fatalf("CheckFiles says %v, but loading says %v", checked, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal with an empty message")
			}
			return
		}
		if !bytes.Contains(content, []byte(outsideMarker)) {
			for _, c := range append([][]float64{d.X, d.Y, d.DY}, mapValues(d.Vars)...) {
				for _, v := range c {
					if v == 424242 {
						t.Fatalf("file %q loaded data from outside the input directory", name)
					}
				}
			}
		}
		n := len(d.Y)
		if n == 0 {
			t.Fatal("loaded a dataset with no observations")
		}
		for _, c := range append([][]float64{d.X, d.Y, d.DY}, mapValues(d.Vars)...) {
			if c == nil {
				continue
			}
			if len(c) != n {
				t.Fatalf("loaded columns of lengths %d and %d", len(c), n)
			}
			for _, v := range c {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("loaded the non-finite value %g", v)
				}
			}
		}
		for _, v := range d.DY {
			if v <= 0 {
				t.Fatalf("loaded dy %g", v)
			}
		}
	})
}

func mapValues(m map[string][]float64) [][]float64 {
	var out [][]float64
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
