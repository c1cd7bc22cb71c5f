package jobdir

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bumpserve/bumpserve/internal/jobfs"
)

// maxListed bounds how many names Uploaded lists, and maxWalked how
// many files it looks at (bumpserve fit reads beside a spec that may sit
// in a large folder).
const (
	maxListed = 20
	maxWalked = 10000
)

// errEnough stops a walk that has seen maxWalked files.
var errEnough = errors.New("enough files")

// Uploaded describes the files under an input directory for a message to
// the user who uploaded them: "data.txt, sub/more.dat", or "none" (also
// when input is ""). Names are relative to input, never the server's
// paths, and at most 20 are listed.
func Uploaded(input string) string {
	var names []string
	if input != "" {
		// Files are listed as the job's file pages list them: regular
		// files reached through no link (package jobfs).
		jobfs.Walk(input, func(rel string, _ fs.FileInfo) error {
			names = append(names, filepath.ToSlash(rel))
			if len(names) >= maxWalked {
				return errEnough
			}
			return nil
		})
	}
	slices.Sort(names)
	switch {
	case len(names) == 0:
		return "none"
	case len(names) >= maxWalked:
		return fmt.Sprintf("%s and many more", strings.Join(names[:maxListed], ", "))
	case len(names) > maxListed:
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
	}
	return strings.Join(names, ", ")
}
