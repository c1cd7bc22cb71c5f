package expr

import (
	"math"
	"strconv"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokNum
	tokIdent
	tokPunct // one of + - * / ^ ( ) ,
)

// token is one lexical token; pos is its byte offset in the source.
type token struct {
	kind tokKind
	pos  int
	text string
	num  float64
}

// lexer splits the source into tokens on demand, so a bad character far into the source
// is reported only if the parser gets that far.
type lexer struct {
	src string
	pos int
}

func isLetter(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// next returns the next token, or an error for a character or number the language does
// not allow.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			l.pos++
			continue
		}
		break
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[start]
	switch {
	case isLetter(c):
		for l.pos < len(l.src) && (isLetter(l.src[l.pos]) || isDigit(l.src[l.pos])) {
			l.pos++
		}
		return token{kind: tokIdent, pos: start, text: l.src[start:l.pos]}, nil
	case isDigit(c) || c == '.':
		return l.number()
	}
	switch c {
	case '+', '-', '*', '/', '^', '(', ')', ',':
		l.pos++
		return token{kind: tokPunct, pos: start, text: l.src[start:l.pos]}, nil
	}
	// Quote the whole UTF-8 sequence rather than a lone byte so the message is readable.
	r := []rune(l.src[start:min(len(l.src), start+4)])[0]
	return token{}, &Error{Pos: start, Msg: "unexpected character " + strconv.QuoteRune(r)}
}

// number scans digits [. digits] [(e|E) [+|-] digits], where either side of the point
// may be empty but not both. Scanning by hand (rather than trusting strconv) keeps out
// forms Go accepts but the language does not, like hex floats, "Inf" and underscores.
func (l *lexer) number() (token, error) {
	start := l.pos
	digits := 0
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
		digits++
	}
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			digits++
		}
	}
	if digits == 0 {
		return token{}, &Error{Pos: start, Msg: `unexpected "."`}
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.pos++
		}
		expDigits := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			expDigits++
		}
		if expDigits == 0 {
			return token{}, &Error{Pos: start, Msg: "malformed number " + strconv.Quote(l.src[start:l.pos])}
		}
	}
	text := l.src[start:l.pos]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		return token{}, &Error{Pos: start, Msg: "number " + strconv.Quote(text) + " out of range"}
	}
	return token{kind: tokNum, pos: start, text: text, num: v}, nil
}
