package bumps

import (
	"path/filepath"
	"regexp"
	"strings"
)

// missingRE matches Python's report of a file that is not there: open()'s
// "[Errno 2] No such file or directory: 'X'" and numpy's "X not found.",
// raised as FileNotFoundError (OSError or IOError in older code).
var missingRE = regexp.MustCompile(`^(?:FileNotFoundError|OSError|IOError): (?:\[Errno 2\] No such file or directory: '(.+)'|(.+) not found\.)$`)

// MissingFile finds, in the exception of bumps' stderr, the file a model
// failed to open because it does not exist, as the model named it, and
// where in the model it tried ("model.py, line 6: source", or "").
func MissingFile(stderr string) (name, where string, ok bool) {
	exc, where, ok := traceback(stderr)
	if !ok {
		return "", "", false
	}
	for _, l := range exc {
		if m := missingRE.FindStringSubmatch(l); m != nil {
			return m[1] + m[2], where, true
		}
	}
	return "", "", false
}

// InputName maps a path a model opened to the name the user knows: a
// path under input (the job's uploads, where bumps runs the model) is
// made relative to it; any other path is returned as it is.
func InputName(path, input string) string {
	if !filepath.IsAbs(path) || input == "" {
		return filepath.ToSlash(filepath.Clean(path))
	}
	if rel, err := filepath.Rel(input, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return strings.TrimSpace(path)
}
