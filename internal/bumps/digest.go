package bumps

import (
	"regexp"
	"strings"
)

// maxDigest bounds a digest: it becomes a job's reason, shown in lists.
const maxDigest = 600

var frameRE = regexp.MustCompile(`^  File "([^"]+)", line (\d+)`)

// Digest condenses bumps' stderr to the lines that decide why it failed:
// for a Python traceback, the exception (type and message) and the last
// frame outside the Python installation, usually the model's own line,
// with its source; for anything else, the last few non-empty lines.
// A SyntaxError keeps the word SyntaxError, the file, the line number and
// the offending source line.
func Digest(stderr string) string {
	exc, where, ok := traceback(stderr)
	if !ok {
		lines := strings.Split(strings.ReplaceAll(stderr, "\r\n", "\n"), "\n")
		return clip(strings.Join(lastNonEmpty(lines, 3), "\n"))
	}
	out := strings.Join(exc, " ")
	if where != "" {
		out += " (at " + where + ")"
	}
	return clip(out)
}

// traceback reads the last Python traceback in stderr: the exception's
// lines, and where in the user's code it was raised ("model.py, line 6:
// source"), or "" when no frame is outside the Python installation.
func traceback(stderr string) (exc []string, where string, ok bool) {
	lines := strings.Split(strings.ReplaceAll(stderr, "\r\n", "\n"), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Traceback (most recent call last):") {
			start = i
		}
	}
	if start < 0 {
		return nil, "", false
	}
	tb := lines[start+1:]
	// The exception is what follows the last frame's indented lines.
	var frame, source string
	excAt := len(tb)
	for i := 0; i < len(tb); i++ {
		l := tb[i]
		if m := frameRE.FindStringSubmatch(l); m != nil {
			if !strings.HasPrefix(m[1], "/usr/lib/") && !strings.HasPrefix(m[1], "<frozen") && m[1] != "/usr/bin/bumps" {
				frame = m[1] + ", line " + m[2]
				source = ""
				if i+1 < len(tb) && strings.HasPrefix(tb[i+1], "    ") && !isCaret(tb[i+1]) {
					source = strings.TrimSpace(tb[i+1])
				}
			}
			continue
		}
		if strings.HasPrefix(l, " ") || l == "" {
			continue
		}
		excAt = i
		break
	}
	exc = lastNonEmpty(tb[min(excAt, len(tb)):], 1<<30)
	if len(exc) > 3 {
		exc = exc[:3]
	}
	where = frame
	if frame != "" && source != "" {
		where += ": " + source
	}
	return exc, where, true
}

func isCaret(l string) bool {
	t := strings.TrimSpace(l)
	return t != "" && strings.Trim(t, "^~") == ""
}

func lastNonEmpty(lines []string, n int) []string {
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" {
			out = append([]string{t}, out...)
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > maxDigest {
		return s[:maxDigest-3] + "..."
	}
	return s
}
