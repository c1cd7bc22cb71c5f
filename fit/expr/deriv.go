package expr

import "math"

// differ takes the symbolic derivative of a DAG with respect to one parameter. The memo
// maps each node to its derivative so a shared subtree is differentiated once and its
// derivative is shared too; without it the derivative of a long product would be
// quadratic in size.
type differ struct {
	k    int
	memo map[*node]*node
	bd   builder
}

func derive(n *node, k int) *node {
	d := &differ{k: k, memo: make(map[*node]*node), bd: builder{simplify: true}}
	return d.d(n)
}

func (d *differ) d(n *node) *node {
	if r, ok := d.memo[n]; ok {
		return r
	}
	r := d.rule(n)
	d.memo[n] = r
	return r
}

// rule applies the differentiation rule for n's operation.
func (d *differ) rule(n *node) *node {
	bd := d.bd
	add := func(a, b *node) *node { return bd.binary(opAdd, a, b) }
	sub := func(a, b *node) *node { return bd.binary(opSub, a, b) }
	mul := func(a, b *node) *node { return bd.binary(opMul, a, b) }
	div := func(a, b *node) *node { return bd.binary(opDiv, a, b) }
	pow := func(a, b *node) *node { return bd.binary(opPow, a, b) }
	fn := func(f fnID, a *node) *node { return bd.call(f, a, nil) }
	sq := func(a *node) *node { return pow(a, constant(2)) }
	c := constant

	switch n.op {
	case opConst, opVar:
		return zeroNode
	case opParam:
		if n.idx == d.k {
			return oneNode
		}
		return zeroNode
	}
	u := n.a
	du := d.d(u)
	switch n.op {
	case opNeg:
		return bd.neg(du)
	case opAdd:
		return add(du, d.d(n.b))
	case opSub:
		return sub(du, d.d(n.b))
	case opMul:
		return add(mul(du, n.b), mul(u, d.d(n.b)))
	case opDiv:
		// u'/v - u*v'/v^2; the second term vanishes when v does not depend on the parameter.
		v := n.b
		return sub(div(du, v), div(mul(u, d.d(v)), sq(v)))
	case opPow:
		v := n.b
		dv := d.d(v)
		switch {
		case isConst(dv, 0):
			// v*u^(v-1)*u' rather than the general form, which divides by u and so
			// would give NaN at u = 0 where the derivative is finite.
			return mul(mul(v, pow(u, sub(v, oneNode))), du)
		case isConst(du, 0):
			return mul(mul(n, fn(fnLog, u)), dv)
		}
		return mul(n, add(mul(dv, fn(fnLog, u)), div(mul(v, du), u)))
	}
	// opCall
	if isConst(du, 0) && (n.b == nil || isConst(d.d(n.b), 0)) {
		return zeroNode
	}
	var g *node // derivative of the function at u, times u' gives the chain rule
	switch n.fn {
	case fnExp:
		g = n
	case fnLog:
		return div(du, u)
	case fnLog10:
		return div(du, mul(c(math.Ln10), u))
	case fnSqrt:
		return div(du, mul(c(2), n))
	case fnSin:
		g = fn(fnCos, u)
	case fnCos:
		g = bd.neg(fn(fnSin, u))
	case fnTan:
		g = add(oneNode, sq(n))
	case fnAsin:
		return div(du, fn(fnSqrt, sub(oneNode, sq(u))))
	case fnAcos:
		return bd.neg(div(du, fn(fnSqrt, sub(oneNode, sq(u)))))
	case fnAtan:
		return div(du, add(oneNode, sq(u)))
	case fnAtan2:
		// atan2(y, x): (x*y' - y*x') / (x^2 + y^2)
		x := n.b
		return div(sub(mul(x, du), mul(u, d.d(x))), add(sq(x), sq(u)))
	case fnSinh:
		g = fn(fnCosh, u)
	case fnCosh:
		g = fn(fnSinh, u)
	case fnTanh:
		g = sub(oneNode, sq(n))
	case fnAbs:
		g = fn(fnSign, u)
	case fnErf:
		g = mul(c(2/math.SqrtPi), fn(fnExp, bd.neg(sq(u))))
	case fnErfc:
		g = mul(c(-2/math.SqrtPi), fn(fnExp, bd.neg(sq(u))))
	case fnSign:
		// sign is piecewise constant; its derivative is zero wherever it exists.
		return zeroNode
	}
	return mul(g, du)
}
