package jobdir

import (
	"path/filepath"
	"strings"
)

// Hide rewrites the server's paths in text (a job's reason, shown to its
// owner) in the owner's terms: a path under input/ becomes the uploaded
// name ("data.txt"), output/ and the temp dir keep only their own names,
// and the job's and the data directory's locations are left out. Where
// the server keeps its files is nobody's business but the server's.
func (d Dir) Hide(text string) string {
	job := filepath.Clean(string(d))
	if job == "." || job == "/" {
		return text
	}
	pairs := []string{
		d.Input() + "/", "",
		d.Input(), "input",
		d.Output(), "output",
		d.Temp(), "tmp",
		job, "the job's directory",
	}
	if root := filepath.Dir(filepath.Dir(job)); root != "/" && root != "." {
		pairs = append(pairs, root, "the data directory")
	}
	return strings.NewReplacer(pairs...).Replace(text)
}
