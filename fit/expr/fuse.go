package expr

// linTerm is one term a[i]*s of a vLin instruction: a vector register times a scalar slot.
type linTerm struct {
	reg, slot int32
}

// maxLinTerms is the most terms one vLin instruction takes; the kernels are unrolled for
// one to three terms.
const maxLinTerms = 3

// sumChain describes a sum such as b1 + b2*x + b3*x^2 + b4*x^3 computed in one pass as
// base + vec1*slot1 + vec2*slot2 + ... . The additions happen in the source's order, and
// rewriting u - v*s as u + v*(-s) and u - v as u + v*(-1) is exact in IEEE arithmetic, so
// the result is bit-for-bit that of the unfused code; the gain is fewer passes over the
// block, which matters for polynomial and rational models.
type sumChain struct {
	base    int32 // value id: a scalar or a vector
	terms   []chainTerm
	release []int32 // value ids whose registers the instruction reads
}

type chainTerm struct {
	vec  int32 // value id of the vector factor
	slot int32 // scalar slot of the factor
}

// fuseSums finds sum chains, outermost first so each chain is as long as allowed.
func (g *gen) fuseSums() {
	for i := len(g.vals) - 1; i >= 0; i-- {
		v := &g.vals[i]
		if v.uniform || v.fused || (v.op != opAdd && v.op != opSub) {
			continue
		}
		g.sumChain(int32(i))
	}
}

// continues reports whether value id can be folded into its user's chain as the running
// sum: a vector sum or difference used nowhere else.
func (g *gen) continues(id int32) bool {
	v := &g.vals[id]
	return !v.uniform && !v.fused && v.uses == 1 && (v.op == opAdd || v.op == opSub)
}

// sumChain builds the chain rooted at value id, if one worth having exists.
func (g *gen) sumChain(id int32) {
	ch := &sumChain{base: -1}
	var absorbed []int32
	fusedMul := false
	cur := id
	for {
		c := &g.vals[cur]
		rest, term := c.a, c.b
		neg := c.op == opSub
		if !neg && (g.continues(term) && !g.continues(rest) || g.vals[term].uniform) {
			rest, term = term, rest // addition commutes exactly
		}
		if g.vals[term].uniform {
			// A scalar added mid-chain cannot be a term; this sum becomes the base.
			ch.base = cur
			break
		}
		t, isMul := g.term(term, neg, ch)
		fusedMul = fusedMul || isMul
		ch.terms = append(ch.terms, t)
		if cur != id {
			absorbed = append(absorbed, cur)
		}
		if len(ch.terms) < maxLinTerms && g.continues(rest) {
			cur = rest
			continue
		}
		ch.base = rest
		ch.release = append(ch.release, rest)
		break
	}
	if ch.base == id || !fusedMul && len(ch.terms) < 2 {
		// Nothing gained over a plain add; undo (no product was fused).
		return
	}
	if ch.base == cur && cur != id {
		ch.release = append(ch.release, cur)
	}
	for _, a := range absorbed {
		g.vals[a].fused = true
	}
	// Terms were collected outermost first; the kernel adds innermost first.
	for i, j := 0, len(ch.terms)-1; i < j; i, j = i+1, j-1 {
		ch.terms[i], ch.terms[j] = ch.terms[j], ch.terms[i]
	}
	g.vals[id].chain = ch
}

// term turns value id into a chain term, negated for a subtraction. A product of a
// vector and a scalar used only here is fused into the term; anything else is a term
// with factor 1 (or -1).
func (g *gen) term(id int32, neg bool, ch *sumChain) (chainTerm, bool) {
	v := &g.vals[id]
	if v.op == opMul && v.uses == 1 && g.vals[v.a].uniform != g.vals[v.b].uniform {
		vec, sc := v.a, v.b
		if g.vals[vec].uniform {
			vec, sc = sc, vec
		}
		slot := g.vals[sc].reg
		if neg {
			slot = g.negSlot(slot)
		}
		v.fused = true
		ch.release = append(ch.release, v.a, v.b)
		return chainTerm{vec: vec, slot: slot}, true
	}
	one := 1.0
	if neg {
		one = -1
	}
	ch.release = append(ch.release, id)
	return chainTerm{vec: id, slot: g.constSlot(one)}, false
}

// negSlot adds a scalar slot holding the negation of another.
func (g *gen) negSlot(slot int32) int32 {
	p := g.p
	n := int32(len(p.sconst))
	p.sconst = append(p.sconst, 0)
	p.scode = append(p.scode, sinstr{op: opNeg, dst: n, a: slot, b: slot})
	return n
}

// constSlot adds a scalar slot holding a constant.
func (g *gen) constSlot(v float64) int32 {
	p := g.p
	p.sconst = append(p.sconst, v)
	return int32(len(p.sconst) - 1)
}
