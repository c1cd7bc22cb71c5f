package expr

import (
	"strings"
	"testing"
)

// TestAdversarial compiles and differentiates twice the largest and deepest shapes the
// limits allow; shared subtrees must keep this fast (it would not finish if derivatives
// were built as trees).
func TestAdversarial(t *testing.T) {
	t.Parallel()
	srcs := []string{
		strings.Repeat("exp(", 99) + "a*x" + strings.Repeat(")", 99),
		strings.Repeat("a^", 199) + "x",
		strings.Repeat("(a*x)^(", 99) + "x" + strings.Repeat(")", 99),
		strings.Repeat("sin(a*x+", 99) + "x" + strings.Repeat(")", 99),
		strings.Repeat("a*x*", 4999) + "a",
		strings.Repeat("a/(x+", 99) + "a" + strings.Repeat(")", 99),
	}
	for i, src := range srcs {
		p, err := Compile(src, []string{"x"}, []string{"a"})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		d2 := p.Deriv(0).Deriv(0)
		out := make([]float64, 300)
		x := make([]float64, 300)
		for j := range x {
			x[j] = float64(j) / 300
		}
		d2.Eval(out, [][]float64{x}, []float64{0.9})
		_ = d2.String()
	}
}
