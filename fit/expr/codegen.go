package expr

import "math"

// sinstr is one instruction of the scalar program: slot dst = op(slot a, slot b), or,
// for opParam, dst = params[idx].
type sinstr struct {
	op   op
	fn   fnID
	dst  int32
	a, b int32
	idx  int
}

// vop is a vector opcode. Suffixes name the operand kinds: V a vector register, S a
// scalar slot. Having separate opcodes for scalar operands means a parameter or constant
// is never broadcast into an array.
type vop uint8

const (
	vCopy    vop = iota // d = a
	vNeg                // d = -a
	vAddVV              // d = a + b
	vAddVS              // d = a + s
	vSubVV              // d = a - b
	vSubVS              // d = a - s
	vSubSV              // d = s - b
	vMulVV              // d = a * b
	vMulVS              // d = a * s
	vDivVV              // d = a / b
	vDivVS              // d = a / s
	vDivSV              // d = s / b
	vPowVV              // d = a ^ b
	vPowVS              // d = a ^ s
	vPowSV              // d = s ^ b
	vSqr                // d = a * a
	vCube               // d = a * a * a
	vPowi               // d = a ^ n for a small integer n, by repeated squaring
	vFn                 // d = fn(a)
	vAtan2VV            // d = atan2(a, b)
	vAtan2VS            // d = atan2(a, s)
	vAtan2SV            // d = atan2(s, b)
	vLinS               // d = s + a1*s1 + a2*s2 + ... (terms in Program.lin[n])
	vLinV               // d = a + a1*s1 + a2*s2 + ...
)

// vinstr is one instruction of the vector program. a and b are registers or slots as
// the opcode says.
type vinstr struct {
	op   vop
	fn   fnID
	dst  int32
	a, b int32
	n    int
}

// maxPowi bounds the integer exponents done by repeated multiplication; beyond it the
// rounding error of repeated squaring could exceed math.Pow's.
const maxPowi = 32

// emit generates the scalar and vector programs for the values, whose last is top.
func (g *gen) emit(p *Program, top int32) {
	g.p = p
	nvars := int32(len(p.vars))
	// Uniform values get scalar slots in dependency order.
	for i := range g.vals {
		v := &g.vals[i]
		if !v.uniform {
			continue
		}
		v.reg = int32(len(p.sconst))
		p.sconst = append(p.sconst, v.val)
		switch v.op {
		case opConst:
		case opParam:
			p.scode = append(p.scode, sinstr{op: opParam, dst: v.reg, idx: v.idx})
		default:
			a := g.vals[v.a].reg
			b := a // unary operations read a harmless valid slot for b
			if v.b >= 0 {
				b = g.vals[v.b].reg
			}
			p.scode = append(p.scode, sinstr{op: v.op, fn: v.fn, dst: v.reg, a: a, b: b})
		}
	}
	if g.vals[top].uniform {
		p.scalarOut = int(g.vals[top].reg)
		return
	}
	g.fuseSums()

	var free []int32
	ntemps := int32(0)
	release := func(id int32) {
		v := &g.vals[id]
		v.uses--
		if v.uses == 0 && !v.uniform && v.op != opVar && !v.fused {
			free = append(free, v.reg)
		}
	}
	for i := range g.vals {
		v := &g.vals[i]
		if v.uniform || v.fused {
			continue
		}
		if v.op == opVar {
			v.reg = int32(v.idx)
			continue
		}
		in, operands := g.selectInstr(v)
		for _, id := range operands {
			if id >= 0 {
				release(id)
			}
		}
		if n := len(free); n > 0 {
			v.reg = free[n-1]
			free = free[:n-1]
		} else {
			v.reg = nvars + ntemps
			ntemps++
		}
		in.dst = v.reg
		p.vcode = append(p.vcode, in)
	}
	if g.vals[top].op == opVar {
		p.vcode = append(p.vcode, vinstr{op: vCopy, a: g.vals[top].reg})
	}
	p.ntemps = int(ntemps)
	p.outReg = int(nvars + ntemps)
	// The top value is computed last and used by nothing, so its instruction can write
	// straight into the caller's output instead of a scratch register.
	p.vcode[len(p.vcode)-1].dst = int32(p.outReg)
}

// selectInstr picks the instruction for a vector value and returns it with the value
// ids whose registers it reads (for liveness).
func (g *gen) selectInstr(v *value) (vinstr, []int32) {
	a := &g.vals[v.a]
	var b *value
	if v.b >= 0 {
		b = &g.vals[v.b]
	}
	// pick chooses among the VV, VS and SV forms of a binary operation.
	pick := func(vv, vs, sv vop) vinstr {
		switch {
		case b.uniform:
			return vinstr{op: vs, a: a.reg, b: b.reg}
		case a.uniform:
			return vinstr{op: sv, a: a.reg, b: b.reg}
		}
		return vinstr{op: vv, a: a.reg, b: b.reg}
	}
	ops := []int32{v.a, v.b}
	if ch := v.chain; ch != nil {
		terms := make([]linTerm, len(ch.terms))
		for i, t := range ch.terms {
			terms[i] = linTerm{reg: g.vals[t.vec].reg, slot: t.slot}
		}
		g.p.lin = append(g.p.lin, terms)
		op := vLinV
		if g.vals[ch.base].uniform {
			op = vLinS
		}
		return vinstr{op: op, a: g.vals[ch.base].reg, n: len(g.p.lin) - 1}, ch.release
	}
	switch v.op {
	case opNeg:
		return vinstr{op: vNeg, a: a.reg}, ops
	case opAdd:
		if a.uniform {
			a, b = b, a
		}
		return pick(vAddVV, vAddVS, vAddVS), ops
	case opSub:
		return pick(vSubVV, vSubVS, vSubSV), ops
	case opMul:
		if a.uniform {
			a, b = b, a
		}
		return pick(vMulVV, vMulVS, vMulVS), ops
	case opDiv:
		return pick(vDivVV, vDivVS, vDivSV), ops
	case opPow:
		if b.op == opConst {
			y := b.val
			switch {
			case y == 2:
				return vinstr{op: vSqr, a: a.reg}, ops
			case y == 3:
				return vinstr{op: vCube, a: a.reg}, ops
			case y == 0.5:
				// math.Pow(x, 0.5) is defined as math.Sqrt(x), so this is exact.
				return vinstr{op: vFn, fn: fnSqrt, a: a.reg}, ops
			case y == math.Trunc(y) && math.Abs(y) <= maxPowi:
				return vinstr{op: vPowi, a: a.reg, n: int(y)}, ops
			}
		}
		return pick(vPowVV, vPowVS, vPowSV), ops
	case opCall:
		if b == nil {
			return vinstr{op: vFn, fn: v.fn, a: a.reg}, ops
		}
		return pick(vAtan2VV, vAtan2VS, vAtan2SV), ops
	}
	panic("expr: unexpected operation in code generation")
}
