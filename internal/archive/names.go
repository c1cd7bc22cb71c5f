package archive

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanName checks an uploaded file's name and returns it in clean form:
// a relative slash-separated path with no empty, "." or ".." parts, no NUL
// or control characters, no backslashes, at most 255 bytes a part.
func CleanName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("file name %q: %s", name, why)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > 1024 {
		return bad("longer than 1024 bytes")
	}
	if strings.HasPrefix(name, "/") || driveLetter(name) {
		return bad("absolute paths are not accepted (use a relative name such as data.txt)")
	}
	if !utf8.ValidString(name) {
		// Shown as U+FFFD in JSON listings and archives, such a name
		// would not lead back to its file.
		return bad("not valid UTF-8")
	}
	for _, c := range name {
		if c == '\\' || unsafeRune(c) {
			return bad("control characters, line separators, direction overrides and backslashes are not accepted")
		}
	}
	for _, part := range strings.Split(name, "/") {
		switch {
		case part == "" || part == ".":
			return bad("empty or '.' path parts are not accepted")
		case part == "..":
			return bad("'..' is not accepted")
		case len(part) > 255:
			return bad("a path part is longer than 255 bytes")
		}
	}
	return name, nil
}

// UnsafeText says s holds a rune that would forge what a listing, a
// terminal or a log shows (see unsafeRune): for names users give.
func UnsafeText(s string) bool { return strings.ContainsFunc(s, unsafeRune) }

// unsafeRune says c would forge what a listing or a log shows: C0 and C1
// controls (newlines, escapes), line and paragraph separators, and the
// direction controls that show "gpj.exe" as "exe.jpg".
func unsafeRune(c rune) bool {
	return unicode.IsControl(c) || unicode.In(c, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// driveLetter says name starts like a Windows path ("C:"), which an
// extractor there would take as absolute.
func driveLetter(name string) bool {
	return len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z')
}
