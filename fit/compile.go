package fit

import (
	"fmt"

	"github.com/bumpserve/bumpserve/fit/expr"
)

// program is what the fitters need from a compiled model. *expr.Program
// provides it through exprProgram; tests may supply Go functions.
type program interface {
	// Eval writes the model at every observation into out.
	Eval(out []float64, vars [][]float64, params []float64)
	// UsesParam reports whether the model depends on params[k].
	UsesParam(k int) bool
	// deriv is the model's derivative with respect to params[k].
	deriv(k int) program
}

type exprProgram struct{ *expr.Program }

func (p exprProgram) deriv(k int) program { return exprProgram{p.Deriv(k)} }

// compile compiles the dataset's model against its variables and all
// spec parameters, so an unknown name is reported with its column.
func (d *Dataset) compile(path string, params []string) error {
	d.varNames = d.modelVars()
	p, err := expr.Compile(d.Model, d.varNames, params)
	if err != nil {
		return fmt.Errorf("%s.model: %w", path, err)
	}
	d.prog = exprProgram{p}
	return nil
}
