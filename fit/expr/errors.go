package expr

import "fmt"

// Limits that keep Compile cheap on hostile input. They are far above anything a real
// model needs (the largest NIST model has about 60 nodes).
const (
	// MaxSourceLen is the longest source, in bytes, that Compile accepts.
	MaxSourceLen = 64 << 10
	// MaxDepth is the deepest nesting of parentheses, unary operators, powers and calls.
	MaxDepth = 200
	// MaxNodes is the largest number of syntax-tree nodes an expression may have.
	MaxNodes = 20000
)

// Error is what Compile returns for bad input. Pos is the 0-based byte offset into the
// source at which the problem was found, or -1 when the problem is not tied to a place in
// the source (for example a name given both as a variable and as a parameter).
type Error struct {
	Pos int
	Msg string
	// end records that Pos is the end of the source, so the message can say "at end"
	// rather than name a column past the last character.
	end bool
}

// Error renders the error with a 1-based column, as an editor would show it.
func (e *Error) Error() string {
	switch {
	case e.Pos < 0:
		return e.Msg
	case e.end:
		return "at end: " + e.Msg
	default:
		return fmt.Sprintf("at column %d: %s", e.Pos+1, e.Msg)
	}
}
