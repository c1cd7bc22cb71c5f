package web

import "testing"

func TestPlusMinus(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v, e float64
		want string
	}{
		{1.2339871023, 0.0051234, "1.2340 ± 0.0051"},
		{1.234, 0.005, "1.2340 ± 0.0050"},
		{9.00349264, 0.0122696, "9.003 ± 0.012"},
		{1006.5636, 31.3, "1007 ± 31"},
		{12345.6, 987.6, "12350 ± 990"},
		{0.5, 0.0996, "0.50 ± 0.10"},
		{3.14159, 9.96, "3 ± 10"},
		{6.02214e23, 3.1e21, "(6.022 ± 0.031)e23"},
		{1.5e-7, 2.5e-9, "(1.500 ± 0.025)e-7"},
		{2.5, 0, "2.5"},
	} {
		if got := plusMinus(c.v, c.e); got != c.want {
			t.Errorf("plusMinus(%g, %g) = %q, want %q", c.v, c.e, got, c.want)
		}
	}
}

func TestRoundToAndChi(t *testing.T) {
	t.Parallel()
	if got := roundTo(1.23456, 0.0123); got != "1.235" {
		t.Errorf("roundTo = %q", got)
	}
	if got := roundTo(1.23456, 0.0); got != "1.23456" {
		t.Errorf("roundTo without an error = %q", got)
	}
	if got := fmtCorr(-0.0004); got != "0.00" {
		t.Errorf("fmtCorr(-0.0004) = %q", got)
	}
	for v, want := range map[float64]string{36.18045130400627: "36.18", 0.952117: "0.9521", 123456.7: "123457", 1.2e-6: "1.200e-06"} {
		if got := chi(v); got != want {
			t.Errorf("chi(%v) = %q, want %q", v, got, want)
		}
	}
}
