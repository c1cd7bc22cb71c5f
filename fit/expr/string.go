package expr

import (
	"math"
	"strconv"
	"strings"
)

// maxStringLen caps String's output. Derivatives share subtrees, so written out in full a
// derivative of a derivative can be far larger than the program itself.
const maxStringLen = 1 << 20

// String renders the folded expression with full parentheses, for logs and tests:
// binary operations as "(a+b)", negation as "(-a)", calls as "f(a)" or "f(a, b)", and
// the constant pi as "pi". Output longer than about a mebibyte is cut off with "...".
func (p *Program) String() string {
	var sb strings.Builder
	p.write(&sb, p.root)
	if sb.Len() > maxStringLen {
		return sb.String()[:maxStringLen] + "..."
	}
	return sb.String()
}

func (p *Program) write(sb *strings.Builder, n *node) {
	if sb.Len() > maxStringLen {
		return
	}
	switch n.op {
	case opConst:
		switch {
		case n.val == math.Pi:
			sb.WriteString("pi")
		case n.val < 0 || n.val == 0 && math.Signbit(n.val):
			sb.WriteString("(")
			sb.WriteString(strconv.FormatFloat(n.val, 'g', -1, 64))
			sb.WriteString(")")
		default:
			sb.WriteString(strconv.FormatFloat(n.val, 'g', -1, 64))
		}
	case opVar:
		sb.WriteString(p.vars[n.idx])
	case opParam:
		sb.WriteString(p.params[n.idx])
	case opNeg:
		sb.WriteString("(-")
		p.write(sb, n.a)
		sb.WriteString(")")
	case opCall:
		sb.WriteString(funcs[n.fn].name)
		sb.WriteString("(")
		p.write(sb, n.a)
		if n.b != nil {
			sb.WriteString(", ")
			p.write(sb, n.b)
		}
		sb.WriteString(")")
	default:
		sb.WriteString("(")
		p.write(sb, n.a)
		sb.WriteString(opSymbol[n.op])
		p.write(sb, n.b)
		sb.WriteString(")")
	}
}

var opSymbol = map[op]string{opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opPow: "^"}
