package expr

import (
	"fmt"
	"math"
)

// blockSize is how many points each instruction processes at a time. All registers of a
// block fit in L1 cache, so the per-instruction passes cost little more than one fused
// loop, while the interpreter's dispatch cost is paid once per block, not per point.
const blockSize = 256

// scratch is the per-call working memory of Eval.
type scratch struct {
	sc   []float64   // scalar slots
	regs [][]float64 // vector registers: data columns, temporaries, output
	buf  []float64   // backing store of the temporaries
}

func (p *Program) newScratch() *scratch {
	s := &scratch{
		sc:   make([]float64, len(p.sconst)),
		regs: make([][]float64, p.outReg+1),
		buf:  make([]float64, p.ntemps*blockSize),
	}
	for t := 0; t < p.ntemps; t++ {
		s.regs[len(p.vars)+t] = s.buf[t*blockSize : (t+1)*blockSize]
	}
	return s
}

// Eval writes the expression's value at n = len(out) points into out. vars[i] is the
// column for the i-th variable name given to Compile and must hold at least n values if
// the expression uses it; params[k] is the value of the k-th parameter. Eval is safe for
// concurrent use. It panics only if the arguments are too short; NaN and Inf simply
// propagate as in Go's math package.
func (p *Program) Eval(out []float64, vars [][]float64, params []float64) {
	n := len(out)
	if len(params) < len(p.params) {
		panic(fmt.Sprintf("expr: Eval: %d parameters given, want %d", len(params), len(p.params)))
	}
	for i, used := range p.usesVar {
		if used && (i >= len(vars) || len(vars[i]) < n) {
			panic(fmt.Sprintf("expr: Eval: variable %q needs %d values", p.vars[i], n))
		}
	}
	s := p.scratch.Get().(*scratch)
	defer p.scratch.Put(s)

	sc := s.sc
	copy(sc, p.sconst)
	for _, in := range p.scode {
		if in.op == opParam {
			sc[in.dst] = params[in.idx]
		} else {
			sc[in.dst] = apply(in.op, in.fn, sc[in.a], sc[in.b])
		}
	}
	if p.scalarOut >= 0 {
		v := sc[p.scalarOut]
		for i := range out {
			out[i] = v
		}
		return
	}
	regs := s.regs
	for lo := 0; lo < n; lo += blockSize {
		hi := min(lo+blockSize, n)
		for i, used := range p.usesVar {
			if used {
				regs[i] = vars[i][lo:hi]
			}
		}
		regs[p.outReg] = out[lo:hi]
		for i := range p.vcode {
			run(&p.vcode[i], regs, sc, p.lin, hi-lo)
		}
	}
	// Drop references to the caller's slices so the pool does not keep them alive.
	for i := range p.vars {
		regs[i] = nil
	}
	regs[p.outReg] = nil
}

// run executes one vector instruction over the first m points of the registers. Each
// case reslices its operands to len(d) so the compiler can drop bounds checks.
func run(in *vinstr, regs [][]float64, sc []float64, lin [][]linTerm, m int) {
	d := regs[in.dst][:m]
	switch in.op {
	case vCopy:
		copy(d, regs[in.a][:m])
	case vNeg:
		a := regs[in.a][:len(d)]
		for i := range d {
			d[i] = -a[i]
		}
	case vAddVV:
		a, b := regs[in.a][:len(d)], regs[in.b][:len(d)]
		for i := range d {
			d[i] = a[i] + b[i]
		}
	case vAddVS:
		a, s := regs[in.a][:len(d)], sc[in.b]
		for i := range d {
			d[i] = a[i] + s
		}
	case vSubVV:
		a, b := regs[in.a][:len(d)], regs[in.b][:len(d)]
		for i := range d {
			d[i] = a[i] - b[i]
		}
	case vSubVS:
		a, s := regs[in.a][:len(d)], sc[in.b]
		for i := range d {
			d[i] = a[i] - s
		}
	case vSubSV:
		s, b := sc[in.a], regs[in.b][:len(d)]
		for i := range d {
			d[i] = s - b[i]
		}
	case vMulVV:
		a, b := regs[in.a][:len(d)], regs[in.b][:len(d)]
		for i := range d {
			d[i] = a[i] * b[i]
		}
	case vMulVS:
		a, s := regs[in.a][:len(d)], sc[in.b]
		for i := range d {
			d[i] = a[i] * s
		}
	case vDivVV:
		a, b := regs[in.a][:len(d)], regs[in.b][:len(d)]
		for i := range d {
			d[i] = a[i] / b[i]
		}
	case vDivVS:
		a, s := regs[in.a][:len(d)], sc[in.b]
		for i := range d {
			d[i] = a[i] / s
		}
	case vDivSV:
		s, b := sc[in.a], regs[in.b][:len(d)]
		for i := range d {
			d[i] = s / b[i]
		}
	case vPowVV:
		a, b := regs[in.a][:len(d)], regs[in.b][:len(d)]
		for i := range d {
			d[i] = math.Pow(a[i], b[i])
		}
	case vPowVS:
		a, s := regs[in.a][:len(d)], sc[in.b]
		for i := range d {
			d[i] = math.Pow(a[i], s)
		}
	case vPowSV:
		s, b := sc[in.a], regs[in.b][:len(d)]
		for i := range d {
			d[i] = math.Pow(s, b[i])
		}
	case vSqr:
		a := regs[in.a][:len(d)]
		for i := range d {
			d[i] = a[i] * a[i]
		}
	case vCube:
		a := regs[in.a][:len(d)]
		for i := range d {
			d[i] = a[i] * a[i] * a[i]
		}
	case vPowi:
		a := regs[in.a][:len(d)]
		for i := range d {
			d[i] = powi(a[i], in.n)
		}
	case vFn:
		runFn(in.fn, d, regs[in.a][:len(d)])
	case vAtan2VV:
		a, b := regs[in.a][:len(d)], regs[in.b][:len(d)]
		for i := range d {
			d[i] = math.Atan2(a[i], b[i])
		}
	case vAtan2VS:
		a, s := regs[in.a][:len(d)], sc[in.b]
		for i := range d {
			d[i] = math.Atan2(a[i], s)
		}
	case vAtan2SV:
		s, b := sc[in.a], regs[in.b][:len(d)]
		for i := range d {
			d[i] = math.Atan2(s, b[i])
		}
	case vLinS:
		runLin(d, sc[in.a], nil, lin[in.n], regs, sc)
	case vLinV:
		runLin(d, 0, regs[in.a][:len(d)], lin[in.n], regs, sc)
	}
}

// runLin computes d = base + a1*s1 + a2*s2 + a3*s3, adding left to right as the source
// does, where base is the scalar s0 if cb is nil and the vector cb otherwise.
func runLin(d []float64, s0 float64, cb []float64, terms []linTerm, regs [][]float64, sc []float64) {
	a1, s1 := regs[terms[0].reg][:len(d)], sc[terms[0].slot]
	switch len(terms) {
	case 1:
		if cb == nil {
			for i := range d {
				d[i] = s0 + a1[i]*s1
			}
		} else {
			for i := range d {
				d[i] = cb[i] + a1[i]*s1
			}
		}
	case 2:
		a2, s2 := regs[terms[1].reg][:len(d)], sc[terms[1].slot]
		if cb == nil {
			for i := range d {
				d[i] = s0 + a1[i]*s1 + a2[i]*s2
			}
		} else {
			for i := range d {
				d[i] = cb[i] + a1[i]*s1 + a2[i]*s2
			}
		}
	default:
		a2, s2 := regs[terms[1].reg][:len(d)], sc[terms[1].slot]
		a3, s3 := regs[terms[2].reg][:len(d)], sc[terms[2].slot]
		if cb == nil {
			for i := range d {
				d[i] = s0 + a1[i]*s1 + a2[i]*s2 + a3[i]*s3
			}
		} else {
			for i := range d {
				d[i] = cb[i] + a1[i]*s1 + a2[i]*s2 + a3[i]*s3
			}
		}
	}
}

// runFn applies a one-argument function. The common ones get their own loops so the
// call is direct (and may be inlined) rather than through a function value.
func runFn(fn fnID, d, a []float64) {
	switch fn {
	case fnExp:
		for i := range d {
			d[i] = math.Exp(a[i])
		}
	case fnLog:
		for i := range d {
			d[i] = math.Log(a[i])
		}
	case fnSqrt:
		for i := range d {
			d[i] = math.Sqrt(a[i])
		}
	case fnAbs:
		for i := range d {
			d[i] = math.Abs(a[i])
		}
	default:
		f := funcs[fn].f1
		for i := range d {
			d[i] = f(a[i])
		}
	}
}

// powi computes x^n for a small integer n by repeated squaring, which for the exponents
// allowed (|n| <= maxPowi) is as accurate as math.Pow and several times faster.
func powi(x float64, n int) float64 {
	if n == 0 {
		return 1 // math.Pow(x, 0) is 1 for every x, NaN included
	}
	neg := n < 0
	if neg {
		n = -n
	}
	r := 1.0
	for {
		if n&1 != 0 {
			r *= x
		}
		n >>= 1
		if n == 0 {
			break
		}
		x *= x
	}
	if neg {
		return 1 / r
	}
	return r
}
