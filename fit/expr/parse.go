package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// parser is a recursive-descent parser for the grammar
//
//	expr    = term { ("+" | "-") term }
//	term    = unary { ("*" | "/") unary }
//	unary   = ("-" | "+") unary | power
//	power   = primary [ "^" unary ]
//	primary = number | name | name "(" expr { "," expr } ")" | "(" expr ")"
//
// Putting unary above power makes -x^2 mean -(x^2), and letting the exponent be a unary
// makes ^ group to the right and allows 2^-1.
type parser struct {
	lex    lexer
	tok    token // current token
	names  map[string]*node
	vars   []string
	params []string
	depth  int
	nodes  int
	bd     builder
}

// parse parses src into a tree whose constant sub-expressions are folded.
func parse(src string, vars, params []string) (*node, error) {
	if len(src) > MaxSourceLen {
		return nil, &Error{Pos: MaxSourceLen, Msg: fmt.Sprintf("expression longer than %d bytes", MaxSourceLen)}
	}
	p := &parser{lex: lexer{src: src}, vars: vars, params: params, names: make(map[string]*node)}
	if err := p.declare(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, p.errAt(p.tok, "empty expression")
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected()
	}
	return n, nil
}

// declare checks the variable and parameter names and records what each stands for.
func (p *parser) declare() error {
	for kind, list := range [2][]string{p.vars, p.params} {
		for i, name := range list {
			if !ValidName(name) {
				return &Error{Pos: -1, Msg: fmt.Sprintf("invalid name %q", name)}
			}
			if _, ok := userFuncs[name]; ok || name == "pi" || name == "pow" {
				return &Error{Pos: -1, Msg: fmt.Sprintf("name %q is reserved", name)}
			}
			if old, ok := p.names[name]; ok {
				if old.op == opVar && kind == 1 {
					return &Error{Pos: -1, Msg: fmt.Sprintf("name %q is both a variable and a parameter", name)}
				}
				return &Error{Pos: -1, Msg: fmt.Sprintf("name %q given twice", name)}
			}
			if kind == 0 {
				p.names[name] = &node{op: opVar, idx: i}
			} else {
				p.names[name] = &node{op: opParam, idx: i}
			}
		}
	}
	return nil
}

// ValidName says whether s can name a variable or parameter: an ASCII
// letter or underscore, then letters, digits and underscores.
func ValidName(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errAt(t token, msg string) *Error {
	return &Error{Pos: t.pos, Msg: msg, end: t.kind == tokEOF}
}

// unexpected reports the current token as out of place.
func (p *parser) unexpected() *Error {
	if p.tok.kind == tokEOF {
		return p.errAt(p.tok, "unexpected end of expression")
	}
	return p.errAt(p.tok, "unexpected "+strconv.Quote(p.tok.text))
}

func (p *parser) is(punct string) bool { return p.tok.kind == tokPunct && p.tok.text == punct }

// count charges one node against MaxNodes.
func (p *parser) count() error {
	p.nodes++
	if p.nodes > MaxNodes {
		return p.errAt(p.tok, fmt.Sprintf("expression has more than %d nodes", MaxNodes))
	}
	return nil
}

// The binary operators of the two left-associative levels.
var (
	sumOps     = map[string]op{"+": opAdd, "-": opSub}
	productOps = map[string]op{"*": opMul, "/": opDiv}
)

func (p *parser) expr() (*node, error) { return p.leftAssoc(p.term, sumOps) }

func (p *parser) term() (*node, error) { return p.leftAssoc(p.unary, productOps) }

// leftAssoc parses operands (next) joined by the binary operators ops,
// grouping to the left: a-b-c is (a-b)-c.
func (p *parser) leftAssoc(next func() (*node, error), ops map[string]op) (*node, error) {
	left, err := next()
	if err != nil {
		return nil, err
	}
	for {
		o, ok := ops[p.tok.text]
		if !ok || !p.is(p.tok.text) {
			return left, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := next()
		if err != nil {
			return nil, err
		}
		if err := p.count(); err != nil {
			return nil, err
		}
		left = p.bd.binary(o, left, right)
	}
}

// unary is where every kind of nesting passes through (parentheses and call arguments via
// expr, signs and exponents directly), so it alone enforces MaxDepth.
func (p *parser) unary() (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return nil, p.errAt(p.tok, fmt.Sprintf("nesting deeper than %d", MaxDepth))
	}
	if p.is("-") || p.is("+") {
		minus := p.tok.text == "-"
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.unary()
		if err != nil || !minus {
			return n, err
		}
		if err := p.count(); err != nil {
			return nil, err
		}
		return p.bd.neg(n), nil
	}
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	if !p.is("^") {
		return base, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	exp, err := p.unary()
	if err != nil {
		return nil, err
	}
	if err := p.count(); err != nil {
		return nil, err
	}
	return p.bd.binary(opPow, base, exp), nil
}

func (p *parser) primary() (*node, error) {
	if err := p.count(); err != nil {
		return nil, err
	}
	t := p.tok
	switch {
	case t.kind == tokNum:
		return constant(t.num), p.advance()
	case t.kind == tokIdent:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.is("(") {
			return p.call(t)
		}
		if n, ok := p.names[t.text]; ok {
			return n, nil
		}
		if t.text == "pi" {
			return constant(3.141592653589793), nil
		}
		if _, ok := userFuncs[t.text]; ok || t.text == "pow" {
			return nil, p.errAt(t, fmt.Sprintf("function %s needs arguments in parentheses", t.text))
		}
		return nil, p.errAt(t, fmt.Sprintf("unknown name %q (%s)", t.text, p.known()))
	case p.is("("):
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.is(")") {
			return nil, p.expected(`")"`)
		}
		return n, p.advance()
	case t.kind == tokEOF:
		return nil, p.errAt(t, "expected an expression")
	}
	return nil, p.unexpected()
}

// expected reports that want was needed where the current token is.
func (p *parser) expected(want string) *Error {
	if p.tok.kind == tokEOF {
		return p.errAt(p.tok, "expected "+want)
	}
	return p.errAt(p.tok, fmt.Sprintf("expected %s, got %q", want, p.tok.text))
}

// known lists the names the user could have meant, for the unknown-name message.
func (p *parser) known() string {
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	return "parameters: " + list(p.params) + "; variables: " + list(p.vars)
}

// call parses the argument list of a call to the function named by t; the current token
// is the opening parenthesis.
func (p *parser) call(t token) (*node, error) {
	fn, ok := userFuncs[t.text]
	if !ok && t.text != "pow" {
		return nil, p.errAt(t, fmt.Sprintf("unknown function %q", t.text))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var args []*node
	for {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if !p.is(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if !p.is(")") {
		return nil, p.expected(`")"`)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	want := 2
	if t.text != "pow" {
		want = fn.arity()
	}
	if len(args) != want {
		plural := "s"
		if want == 1 {
			plural = ""
		}
		return nil, p.errAt(t, fmt.Sprintf("%s takes %d argument%s, got %d", t.text, want, plural, len(args)))
	}
	if t.text == "pow" {
		return p.bd.binary(opPow, args[0], args[1]), nil
	}
	if want == 1 {
		return p.bd.call(fn, args[0], nil), nil
	}
	return p.bd.call(fn, args[0], args[1]), nil
}
