package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Numbers are shown as a physicist writes them: an uncertainty to two
// significant digits and its value to the same decimal place, 1.234 ±
// 0.005 rather than 1.2339871023 ± 0.0051234. Very large or small values
// share one power of ten: (6.022 ± 0.031)e23.

// places is the number of decimals that keeps two significant digits of
// e (negative: tens, hundreds, …).
func places(e float64) int {
	return 1 - int(math.Floor(math.Log10(e)))
}

// fixed writes v rounded to d decimals (d < 0 rounds to 10^-d).
func fixed(v float64, d int) string {
	if d >= 0 {
		return strconv.FormatFloat(v, 'f', d, 64)
	}
	p := math.Pow(10, float64(-d))
	return strconv.FormatFloat(math.Round(v/p)*p, 'f', 0, 64)
}

// usable is an uncertainty that can set a rounding: finite and positive.
func usable(e float64) bool { return e > 0 && !math.IsInf(e, 0) && !math.IsNaN(e) }

// plusMinus formats v ± e; without a usable e, v alone as num does.
func plusMinus(v, e float64) string {
	if !usable(e) || math.IsNaN(v) || math.IsInf(v, 0) {
		return num(v)
	}
	if exp := decade(v, e); exp != 0 {
		s := math.Pow(10, float64(exp))
		d := places(e / s)
		return fmt.Sprintf("(%s ± %s)e%d", fixed(v/s, d), fixed(e/s, d), exp)
	}
	d := places(e)
	// Rounding may carry the error to three digits (0.0996 → 0.10 has
	// two, 9.96 → 10 has two at one decimal fewer): recompute from it.
	if r, _ := strconv.ParseFloat(fixed(e, d), 64); r > 0 {
		d = places(r)
	}
	return fixed(v, d) + " ± " + fixed(e, d)
}

// decade is the power of ten a value and its error share when written in
// fixed notation would be unwieldy (six digits before the point, or four
// zeros after it); 0 otherwise.
func decade(v, e float64) int {
	m := math.Max(math.Abs(v), e)
	exp := int(math.Floor(math.Log10(m)))
	if exp >= 6 || exp <= -5 {
		return exp
	}
	return 0
}

// roundTo formats v to the decimal place e sets (for a posterior's mean,
// median and interval ends, rounded as its standard deviation).
func roundTo(v any, e any) string {
	f, ok1 := toFloat(v)
	u, ok2 := toFloat(e)
	if !ok1 || math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	if !ok2 || !usable(u) {
		return num(f)
	}
	if exp := decade(f, u); exp != 0 {
		s := math.Pow(10, float64(exp))
		return fixed(f/s, places(u/s)) + "e" + strconv.Itoa(exp)
	}
	return fixed(f, places(u))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case *float64:
		if x == nil {
			return 0, false
		}
		return *x, true
	}
	return 0, false
}

// chi formats a χ² for reading, not for recomputing: four significant
// digits, and whole numbers beyond.
func chi(v any) string {
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	if math.Abs(f) >= 1e4 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	s := strconv.FormatFloat(f, 'g', 4, 64)
	if strings.Contains(s, "e") {
		return strconv.FormatFloat(f, 'e', 3, 64)
	}
	return s
}

// fmtFixed writes a diagnostic (R-hat, ESS) with d decimals; – when absent.
func fmtFixed(v *float64, d int) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', d, 64)
}

// fmtCorr writes a correlation to two decimals, without the "-0.00" that
// a tiny negative value would otherwise show.
func fmtCorr(v float64) string {
	if math.Abs(v) < 0.005 {
		v = 0
	}
	return fmtFixed(&v, 2)
}
