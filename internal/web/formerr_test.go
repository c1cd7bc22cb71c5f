package web

import (
	"strings"
	"testing"
)

func TestHumane(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`spec.datasets[0].file: data.txt line 3, column 2: "abc" is not a number`: `data file: data.txt line 3, column 2: "abc" is not a number`,
		`spec.datasets[0].model: unknown name "b3"`:                               `model: unknown name "b3"`,
		`spec.datasets[1].model: unknown name "b3"`:                               `dataset 1 model: unknown name "b3"`,
		`spec.parameters.b1: min 3 is greater than max 1`:                         `parameter b1: min 3 is greater than max 1`,
		`spec.parameters.k.prior.sd: -1 must be positive and finite`:              `parameter k prior sd: -1 must be positive and finite`,
		`spec.options.samples: 0 is not a number from 1 to 1e+12`:                 `samples: 0 is not a number from 1 to 1e+12`,
		`spec.fitter: unknown fitter "x"`:                                         `fitter: unknown fitter "x"`,
		`data: line 3, column 2: "abc" is not a number`:                           `data: line 3, column 2: "abc" is not a number`,
	} {
		got := humane(in)
		if got != want {
			t.Errorf("humane(%q)\n got %q\nwant %q", in, got, want)
		}
		if strings.Contains(got, "spec.") || strings.Contains(got, "[0]") {
			t.Errorf("humane(%q) = %q still holds a path", in, got)
		}
	}
}
