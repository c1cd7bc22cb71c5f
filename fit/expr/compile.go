package expr

import (
	"math"
	"sync"
)

// Program is a compiled expression. It is immutable after Compile (the derivative cache
// is guarded by a mutex), so one Program may be evaluated by many goroutines at once.
type Program struct {
	root         *node
	vars, params []string
	usesVar      []bool
	usesParam    []bool

	// The scalar program computes, once per Eval call, every sub-expression that depends
	// only on parameters and constants (like 2*s^2 in a Gaussian), so the vector program
	// never recomputes them per point.
	sconst []float64 // initial contents of the scalar slots: the folded constants
	scode  []sinstr

	// The vector program runs over blocks of points. Registers 0..len(vars)-1 are the
	// data columns, then ntemps scratch registers, then the output.
	vcode     []vinstr
	lin       [][]linTerm // term lists of the vLinS and vLinV instructions
	ntemps    int
	outReg    int
	scalarOut int // slot holding the result when the whole expression is uniform, else -1

	scratch sync.Pool // of *scratch, so concurrent Evals never share buffers

	mu     sync.Mutex
	derivs map[int]*Program
}

// Compile parses and compiles src. vars are the names of data columns (e.g. "x", "t",
// "T") and params the names of fit parameters. Any other identifier, besides pi and the
// built-in functions, is an error, as is a name in both lists, a name given twice, or a
// name that is not an identifier or that shadows pi or a function. Constant
// sub-expressions are folded. Every error is an *Error.
func Compile(src string, vars, params []string) (*Program, error) {
	root, err := parse(src, vars, params)
	if err != nil {
		return nil, err
	}
	return build(root, append([]string(nil), vars...), append([]string(nil), params...)), nil
}

// build compiles a tree into a Program over the given names.
func build(root *node, vars, params []string) *Program {
	p := &Program{
		root:      root,
		vars:      vars,
		params:    params,
		usesVar:   make([]bool, len(vars)),
		usesParam: make([]bool, len(params)),
		scalarOut: -1,
	}
	g := &gen{memo: make(map[*node]int32), intern: make(map[valueKey]int32)}
	top := g.value(root)
	for _, v := range g.vals {
		switch v.op {
		case opVar:
			p.usesVar[v.idx] = true
		case opParam:
			p.usesParam[v.idx] = true
		}
	}
	g.emit(p, top)
	p.scratch.New = func() any { return p.newScratch() }
	return p
}

// Deriv returns the compiled symbolic partial derivative with respect to params[k],
// simplified (0*a -> 0, 1*a -> a, a+0 -> a, constant folding). It is itself a Program
// over the same vars and params, so it can be evaluated and differentiated again.
// Results are cached, so repeated calls are cheap. Deriv panics if k is out of range.
func (p *Program) Deriv(k int) *Program {
	if k < 0 || k >= len(p.params) {
		panic("expr: Deriv: parameter index out of range")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.derivs[k]; ok {
		return d
	}
	var d *Program
	if !p.usesParam[k] {
		d = build(zeroNode, p.vars, p.params)
	} else {
		d = build(derive(p.root, k), p.vars, p.params)
	}
	if p.derivs == nil {
		p.derivs = make(map[int]*Program)
	}
	p.derivs[k] = d
	return d
}

// UsesParam reports whether params[k] appears in the (folded) expression.
func (p *Program) UsesParam(k int) bool { return k >= 0 && k < len(p.usesParam) && p.usesParam[k] }

// UsesVar reports whether vars[i] appears in the (folded) expression.
func (p *Program) UsesVar(i int) bool { return i >= 0 && i < len(p.usesVar) && p.usesVar[i] }

// Vars returns the variable names the Program was compiled with.
func (p *Program) Vars() []string { return append([]string(nil), p.vars...) }

// Params returns the parameter names the Program was compiled with.
func (p *Program) Params() []string { return append([]string(nil), p.params...) }

// value is one distinct sub-expression of the DAG after common sub-expression
// elimination: structurally equal subtrees, even if built separately (as derivatives
// often are), become one value computed once.
type value struct {
	op      op
	fn      fnID
	val     float64
	idx     int
	a, b    int32 // operand value ids, -1 if absent
	uniform bool  // depends on no variable, so it is computed once per Eval
	uses    int   // references from other values, counted down as code is emitted
	reg     int32 // vector register, or scalar slot when uniform
	fused   bool  // folded into its only user's instruction, so never computed alone
	chain   *sumChain
}

type valueKey struct {
	op   op
	fn   fnID
	bits uint64
	idx  int
	a, b int32
}

// gen turns a DAG into values and then into scalar and vector code.
type gen struct {
	p      *Program
	vals   []value
	memo   map[*node]int32
	intern map[valueKey]int32
}

// value returns the id of n's value, creating values in post-order so that operands
// always precede their users.
func (g *gen) value(n *node) int32 {
	if id, ok := g.memo[n]; ok {
		return id
	}
	k := valueKey{op: n.op, fn: n.fn, idx: n.idx, a: -1, b: -1}
	switch n.op {
	case opConst:
		k.bits = math.Float64bits(n.val)
	case opVar, opParam:
	default:
		k.idx = 0
		k.a = g.value(n.a)
		if n.b != nil {
			k.b = g.value(n.b)
		}
	}
	if n.op != opVar && n.op != opParam {
		k.idx = 0
	}
	id, ok := g.intern[k]
	if !ok {
		id = int32(len(g.vals))
		v := value{op: n.op, fn: n.fn, val: n.val, idx: n.idx, a: k.a, b: k.b}
		v.uniform = n.op != opVar && (k.a < 0 || g.vals[k.a].uniform) && (k.b < 0 || g.vals[k.b].uniform)
		for _, c := range [2]int32{k.a, k.b} {
			if c >= 0 {
				g.vals[c].uses++
			}
		}
		g.vals = append(g.vals, v)
		g.intern[k] = id
	}
	g.memo[n] = id
	return id
}
