package bumps

import (
	"fmt"
	"testing"
)

func TestFilesNamed(t *testing.T) {
	t.Parallel()
	src := `from bumps.names import *
import numpy as np   # data from "ignored.txt" in a comment
x, y, dy = np.loadtxt("gpeak.txt").T
with open('notes') as f: pass
other = np.genfromtxt(r"sub\run1.csv", delimiter=",")
again = np.loadtxt("gpeak.txt")
label = "a plot title"
pattern = "run%d.dat" % 3
helper = "linefn.py"
table = pd.read_csv('./tables/t.tsv')
url = "https://example.org/x.dat"
`
	got := fmt.Sprint(FilesNamed(src))
	want := "[{gpeak.txt 3} {notes 4} {sub/run1.csv 5} {tables/t.tsv 10}]"
	if got != want {
		t.Errorf("FilesNamed = %s\nwant %s", got, want)
	}
}
