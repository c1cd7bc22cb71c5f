package expr

import "math"

// op is the kind of a syntax-tree node.
type op uint8

const (
	opConst op = iota
	opVar
	opParam
	opNeg
	opAdd
	opSub
	opMul
	opDiv
	opPow
	opCall
)

// node is one node of an expression. Nodes are immutable once built, so derivatives and
// simplified forms share subtrees freely: an expression is really a DAG, which keeps
// derivatives of long products linear in size instead of quadratic.
type node struct {
	op  op
	fn  fnID    // for opCall
	val float64 // for opConst
	idx int     // for opVar and opParam: index into the vars or params list
	a   *node   // first operand
	b   *node   // second operand, nil for unary nodes
}

// fnID names a built-in function.
type fnID uint8

const (
	fnExp fnID = iota
	fnLog
	fnLog10
	fnSqrt
	fnSin
	fnCos
	fnTan
	fnAsin
	fnAcos
	fnAtan
	fnAtan2
	fnSinh
	fnCosh
	fnTanh
	fnAbs
	fnErf
	fnErfc
	// fnSign is internal: it only appears in derivatives of abs, so users cannot call it.
	fnSign
	numFns
)

// funcInfo describes a built-in function. Exactly one of f1 and f2 is set.
type funcInfo struct {
	name string
	f1   func(float64) float64
	f2   func(float64, float64) float64
}

// funcs is indexed by fnID.
var funcs = [numFns]funcInfo{
	fnExp:   {name: "exp", f1: math.Exp},
	fnLog:   {name: "log", f1: math.Log},
	fnLog10: {name: "log10", f1: math.Log10},
	fnSqrt:  {name: "sqrt", f1: math.Sqrt},
	fnSin:   {name: "sin", f1: math.Sin},
	fnCos:   {name: "cos", f1: math.Cos},
	fnTan:   {name: "tan", f1: math.Tan},
	fnAsin:  {name: "asin", f1: math.Asin},
	fnAcos:  {name: "acos", f1: math.Acos},
	fnAtan:  {name: "atan", f1: math.Atan},
	fnAtan2: {name: "atan2", f2: math.Atan2},
	fnSinh:  {name: "sinh", f1: math.Sinh},
	fnCosh:  {name: "cosh", f1: math.Cosh},
	fnTanh:  {name: "tanh", f1: math.Tanh},
	fnAbs:   {name: "abs", f1: math.Abs},
	fnErf:   {name: "erf", f1: math.Erf},
	fnErfc:  {name: "erfc", f1: math.Erfc},
	fnSign:  {name: "sign", f1: sign},
}

// sign is the derivative of abs: -1, 0 or 1, and NaN for NaN.
func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // 0, -0 or NaN
}

// arity returns how many arguments the function takes.
func (f fnID) arity() int {
	if funcs[f].f2 != nil {
		return 2
	}
	return 1
}

// userFuncs maps the names users may call to functions. pow is absent because it is
// parsed straight into the ^ operator.
var userFuncs = func() map[string]fnID {
	m := make(map[string]fnID)
	for id := fnID(0); id < numFns; id++ {
		if id != fnSign {
			m[funcs[id].name] = id
		}
	}
	return m
}()

// apply evaluates a node's operation on scalar operands. It is the single definition of
// the language's scalar semantics: constant folding and the per-call scalar program both
// use it, and the vector kernels match it.
func apply(o op, fn fnID, x, y float64) float64 {
	switch o {
	case opNeg:
		return -x
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	case opPow:
		return math.Pow(x, y)
	case opCall:
		if f := funcs[fn]; f.f2 != nil {
			return f.f2(x, y)
		}
		return funcs[fn].f1(x)
	}
	return math.NaN()
}
