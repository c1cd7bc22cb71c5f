package bumps

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// FileRef is a file a model script names, found by a quick static look.
type FileRef struct {
	Name string // as written in the script, slash-separated and cleaned
	Line int    // 1-based line of the script
}

// dataExtensions are endings of names that are data rather than code.
var dataExtensions = []string{
	".txt", ".dat", ".csv", ".tsv", ".xy", ".xye", ".xyz", ".refl", ".ort", ".abs",
	".npy", ".npz", ".h5", ".hdf", ".hdf5", ".nxs", ".json", ".yaml", ".yml",
	".mat", ".ses", ".sans", ".chi", ".fits", ".gz", ".zip",
}

// stringRE matches a one-line Python string literal, with its prefix.
var stringRE = regexp.MustCompile(`(?i)\b(?:r|b|rb|br|u|f|rf|fr)?("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')`)

// opensRE matches a call of a function that reads a file, its first
// argument a string literal: open("x"), np.loadtxt('x'), pd.read_csv(...).
var opensRE = regexp.MustCompile(`\b(?:open|load|loadtxt|genfromtxt|fromfile|read_csv|read_table|read|loadmat|load_data|File)\s*\(\s*(?i:r|b|rb|u)?("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')`)

// FilesNamed lists, in order of first appearance, the files a Bumps model
// script appears to read: string literals ending in a data-like extension
// and literals passed to open or load functions. It is a quick look, not
// Python: names built at run time are not seen, and a literal that is
// never opened may be listed. Python files and patterns ("run%d.dat",
// "{}.txt") are left out.
func FilesNamed(source string) []FileRef {
	var refs []FileRef
	seen := map[string]bool{}
	add := func(lit string, line int) {
		name := unquote(lit)
		if name == "" || strings.ContainsAny(name, "%{}*?\n") || strings.HasSuffix(name, ".py") || strings.Contains(name, "://") {
			return
		}
		name = path.Clean(strings.ReplaceAll(name, `\`, "/"))
		if !seen[name] {
			seen[name] = true
			refs = append(refs, FileRef{Name: name, Line: line})
		}
	}
	for i, line := range strings.Split(source, "\n") {
		code := stripComment(line)
		for _, m := range opensRE.FindAllStringSubmatch(code, -1) {
			add(m[1], i+1)
		}
		for _, m := range stringRE.FindAllStringSubmatch(code, -1) {
			if name := strings.ToLower(unquote(m[1])); slices.ContainsFunc(dataExtensions, func(ext string) bool {
				return strings.HasSuffix(name, ext) && len(name) > len(ext)
			}) {
				add(m[1], i+1)
			}
		}
	}
	return refs
}

// unquote strips a literal's quotes; escapes other than \\ and quotes are
// kept as written (file names rarely hold them).
func unquote(lit string) string {
	if len(lit) < 2 {
		return ""
	}
	s := lit[1 : len(lit)-1]
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\'`, `'`).Replace(s)
}

// stripComment drops a # comment that is not inside a string literal.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == '#':
			return line[:i]
		}
	}
	return line
}
