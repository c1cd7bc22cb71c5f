package expr

// builder makes nodes. Every constructor folds operations whose operands are all
// constants, using apply so folding agrees exactly with evaluation. With simplify set
// it also applies the algebraic identities that derivatives need to stay small
// (0*a -> 0, 1*a -> a, a+0 -> a, ...). The parser leaves simplify off because some of
// those identities change what a user's own expression computes when a is NaN or Inf
// (0*Inf is NaN, not 0), while a derivative is free to drop terms that are zero.
type builder struct {
	simplify bool
}

var (
	zeroNode = &node{op: opConst, val: 0}
	oneNode  = &node{op: opConst, val: 1}
)

func constant(v float64) *node {
	switch v {
	case 0:
		if 1/v > 0 { // keep -0 distinct from the shared +0
			return zeroNode
		}
	case 1:
		return oneNode
	}
	return &node{op: opConst, val: v}
}

func isConst(n *node, v float64) bool { return n.op == opConst && n.val == v }

func (bd builder) neg(a *node) *node {
	switch {
	case a.op == opConst:
		return constant(-a.val)
	case bd.simplify && a.op == opNeg:
		return a.a
	}
	return &node{op: opNeg, a: a}
}

// binary builds a op b, folding and simplifying where allowed.
func (bd builder) binary(o op, a, b *node) *node {
	if a.op == opConst && b.op == opConst {
		return constant(apply(o, 0, a.val, b.val))
	}
	if bd.simplify {
		if n := bd.identity(o, a, b); n != nil {
			return n
		}
	}
	return &node{op: o, a: a, b: b}
}

// identity returns a simpler node equal to a o b, or nil if none applies.
func (bd builder) identity(o op, a, b *node) *node {
	switch o {
	case opAdd:
		switch {
		case isConst(a, 0):
			return b
		case isConst(b, 0):
			return a
		case b.op == opNeg:
			return bd.binary(opSub, a, b.a)
		}
	case opSub:
		switch {
		case isConst(b, 0):
			return a
		case isConst(a, 0):
			return bd.neg(b)
		case b.op == opNeg:
			return bd.binary(opAdd, a, b.a)
		}
	case opMul:
		switch {
		case isConst(a, 0) || isConst(b, 0):
			return zeroNode
		case isConst(a, 1):
			return b
		case isConst(b, 1):
			return a
		case isConst(a, -1):
			return bd.neg(b)
		case isConst(b, -1):
			return bd.neg(a)
		case a.op == opNeg:
			return bd.neg(bd.binary(opMul, a.a, b))
		case b.op == opNeg:
			return bd.neg(bd.binary(opMul, a, b.a))
		case b.op == opConst && a.op != opConst:
			// Constants first, so c1*(c2*u) below can fold.
			return bd.binary(opMul, b, a)
		case a.op == opConst && b.op == opMul && b.a.op == opConst:
			return bd.binary(opMul, constant(a.val*b.a.val), b.b)
		}
	case opDiv:
		switch {
		case isConst(a, 0):
			return zeroNode
		case isConst(b, 1):
			return a
		case a.op == opNeg:
			return bd.neg(bd.binary(opDiv, a.a, b))
		}
	case opPow:
		switch {
		case isConst(b, 0):
			return oneNode
		case isConst(b, 1):
			return a
		}
	}
	return nil
}

func (bd builder) call(fn fnID, a, b *node) *node {
	if a.op == opConst && (b == nil || b.op == opConst) {
		var y float64
		if b != nil {
			y = b.val
		}
		return constant(apply(opCall, fn, a.val, y))
	}
	return &node{op: opCall, fn: fn, a: a, b: b}
}
