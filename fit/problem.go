package fit

import (
	"context"
	"math"
	"strconv"
	"sync/atomic"

	"github.com/bumpserve/bumpserve/mapper"
)

// problem is a spec turned into the residual function the fitters share:
// a vector x of free parameters maps to weighted residuals (f-y)/dy over
// all datasets, followed by one row (x-mean)/sd per Gaussian prior, so
// that the cost is the squared norm of that vector.
type problem struct {
	names  []string  // every parameter, spec order
	start  []float64 // spec values of every parameter
	free   []int     // spec index of each free parameter
	lo, hi []float64 // bounds of each free parameter
	priors []priorTerm
	sets   []dataSet
	ndata  int

	evals atomic.Int64 // residual vector evaluations, for the result
}

type priorTerm struct {
	k        int // index into the free parameters
	mean, sd float64
}

type dataSet struct {
	name string
	plot PlotStyle // labels and scales as the spec gives them
	xvar string    // the name of the variable plotted along x
	vars [][]float64
	y, w []float64 // w = 1/dy
	off  int       // offset of this set's rows in the residual vector
	f    program
	df   []program // derivative per free parameter; nil when unused
}

// newProblem builds the residual function of a loaded, compiled spec.
func newProblem(s *Spec) *problem {
	p := &problem{}
	for k, par := range s.Parameters {
		p.names = append(p.names, par.Name)
		p.start = append(p.start, par.Value)
		if par.Fixed {
			continue
		}
		if par.Prior != nil {
			p.priors = append(p.priors, priorTerm{len(p.free), par.Prior.Mean, par.Prior.SD})
		}
		p.free = append(p.free, k)
		p.lo = append(p.lo, par.Min)
		p.hi = append(p.hi, par.Max)
	}
	for i, d := range s.Datasets {
		ds := dataSet{name: d.Name, plot: d.Plot, y: d.Y, off: p.ndata, f: d.prog}
		if len(d.varNames) > 0 {
			ds.xvar = d.varNames[0]
		}
		if ds.name == "" && len(s.Datasets) > 1 {
			ds.name = "dataset " + strconv.Itoa(i)
		}
		for _, v := range d.varNames {
			if v == "x" {
				ds.vars = append(ds.vars, d.X)
			} else {
				ds.vars = append(ds.vars, d.Vars[v])
			}
		}
		ds.w = make([]float64, len(d.Y))
		for j := range ds.w {
			ds.w[j] = 1
			if d.DY != nil {
				ds.w[j] = 1 / d.DY[j]
			}
		}
		for _, k := range p.free {
			var df program
			if d.prog.UsesParam(k) {
				df = d.prog.deriv(k)
			}
			ds.df = append(ds.df, df)
		}
		p.sets = append(p.sets, ds)
		p.ndata += len(d.Y)
	}
	return p
}

func (p *problem) dim() int  { return len(p.free) }
func (p *problem) nres() int { return p.ndata + len(p.priors) }

// x0 is the start point in free-parameter space.
func (p *problem) x0() []float64 {
	x := make([]float64, p.dim())
	for j, k := range p.free {
		x[j] = p.start[k]
	}
	return x
}

// fill writes the full parameter vector for free values x into full.
func (p *problem) fill(x, full []float64) {
	copy(full, p.start)
	for j, k := range p.free {
		full[k] = x[j]
	}
}

// scratch is per-goroutine working space for evaluations.
type scratch struct {
	full []float64
	r    []float64
}

func (p *problem) newScratch() *scratch {
	return &scratch{
		full: make([]float64, len(p.start)),
		r:    make([]float64, p.nres()),
	}
}

// residuals writes the residual vector at x into r (length nres).
func (p *problem) residuals(x, r []float64, s *scratch) {
	p.evals.Add(1)
	p.fill(x, s.full)
	for _, d := range p.sets {
		out := r[d.off : d.off+len(d.y)]
		d.f.Eval(out, d.vars, s.full)
		for i := range out {
			out[i] = (out[i] - d.y[i]) * d.w[i]
		}
	}
	for i, pr := range p.priors {
		r[p.ndata+i] = (x[pr.k] - pr.mean) / pr.sd
	}
}

// cost is the squared norm of the residuals, +Inf when the model gives
// NaN or Inf anywhere so that fitters simply reject such points.
func (p *problem) cost(x []float64, s *scratch) float64 {
	p.residuals(x, s.r, s)
	return sumSq(s.r)
}

// dataChisq is the part of the cost that comes from the data, excluding
// priors; r is a residual vector.
func (p *problem) dataChisq(r []float64) float64 { return sumSq(r[:p.ndata]) }

func sumSq(r []float64) float64 {
	c := 0.0
	for _, v := range r {
		c += v * v
	}
	if math.IsNaN(c) {
		return math.Inf(1)
	}
	return c
}

// column writes the derivative of the residuals with respect to free
// parameter j at x into col.
func (p *problem) column(j int, x, col []float64, s *scratch) {
	p.fill(x, s.full)
	for _, d := range p.sets {
		out := col[d.off : d.off+len(d.y)]
		if d.df[j] == nil {
			clear(out)
			continue
		}
		d.df[j].Eval(out, d.vars, s.full)
		for i := range out {
			out[i] *= d.w[i]
		}
	}
	for i, pr := range p.priors {
		col[p.ndata+i] = 0
		if pr.k == j {
			col[p.ndata+i] = 1 / pr.sd
		}
	}
}

// evaluator evaluates the problem through a mapper, with one scratch per
// mapper worker.
type evaluator struct {
	p       *problem
	m       mapper.Mapper
	scratch []*scratch
}

func newEvaluator(p *problem, m mapper.Mapper) *evaluator {
	e := &evaluator{p: p, m: m}
	for range m.CPUs() {
		e.scratch = append(e.scratch, p.newScratch())
	}
	return e
}

// costs evaluates the cost at every point into out.
func (e *evaluator) costs(ctx context.Context, pts [][]float64, out []float64) error {
	return e.m.Map(ctx, len(pts), func(w, i int) {
		out[i] = e.p.cost(pts[i], e.scratch[w])
	})
}

// newCols allocates a Jacobian: one column of nres per free parameter.
func (p *problem) newCols() [][]float64 {
	cols := make([][]float64, p.dim())
	for j := range cols {
		cols[j] = make([]float64, p.nres())
	}
	return cols
}

// covarianceAt is the parameters' covariance from the Jacobian at x.
func (e *evaluator) covarianceAt(ctx context.Context, x []float64) ([][]float64, error) {
	cols := e.p.newCols()
	if err := e.jacobian(ctx, x, cols); err != nil {
		return nil, err
	}
	return covariance(cols), nil
}

// jacobian writes the residual Jacobian at x column by column into cols
// (cols[j] has length nres), evaluating columns in parallel.
func (e *evaluator) jacobian(ctx context.Context, x []float64, cols [][]float64) error {
	return e.m.Map(ctx, len(cols), func(w, j int) {
		e.p.column(j, x, cols[j], e.scratch[w])
	})
}
