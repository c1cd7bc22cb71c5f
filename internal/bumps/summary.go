package bumps

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Summary is the last "[chisq=..., nllf=...]" line of a .err or .mon
// file; a model with a constraints function has the line
// "[chisq=... constraints=..., nllf=...]".
type Summary struct {
	// ReducedChisq is bumps' normalised chisq (2·nllf/dof), printed with
	// only the digits its uncertainty justifies.
	ReducedChisq float64
	// NLLF is the negative log likelihood (%g: six significant digits);
	// for Gaussian data it is half the plain chisq.
	NLLF float64
	// Constraints is the penalty the model's constraints function adds
	// to the nllf (0 when bumps prints none). Past the problem's
	// soft_limit bumps stops evaluating the model and prints chisq and
	// nllf as inf.
	Constraints float64
}

var summaryRE = regexp.MustCompile(`\[(?:overall )?chisq=([^,\s]+)(?: constraints=([^,\]]+))?, nllf=([^\]]+)\]`)

// ParseSummary finds the last chisq/nllf line in text.
func ParseSummary(text string) (Summary, error) {
	m := summaryRE.FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		return Summary{}, fmt.Errorf("no [chisq=..., nllf=...] line")
	}
	last := m[len(m)-1]
	chi, _, err := ParseUncertain(last[1])
	if err != nil {
		return Summary{}, fmt.Errorf("chisq %q: %v", last[1], err)
	}
	sum := Summary{ReducedChisq: chi}
	if last[2] != "" {
		if sum.Constraints, err = strconv.ParseFloat(strings.TrimSpace(last[2]), 64); err != nil {
			return Summary{}, fmt.Errorf("constraints %q: %v", last[2], err)
		}
	}
	if sum.NLLF, err = strconv.ParseFloat(strings.TrimSpace(last[3]), 64); err != nil {
		return Summary{}, fmt.Errorf("nllf %q: %v", last[3], err)
	}
	return sum, nil
}

var uncertainRE = regexp.MustCompile(`^(-?(?:\d+\.?\d*|\.\d+))(?:\((\d+|inf)\))?(e[-+]?\d+)?$`)

// ParseUncertain reads bumps' compact "value(uncertainty)" notation, as
// in "1.970(21)" (1.970 ± 0.021) or "1.23(4)e-5"; the digits in
// parentheses count in units of the value's last digit. Without
// parentheses the uncertainty is NaN. "inf", "-inf" and "NaN" are read too.
func ParseUncertain(s string) (value, unc float64, err error) {
	s = strings.TrimSpace(s)
	switch s {
	case "inf", "-inf", "NaN":
		v, _ := strconv.ParseFloat(s, 64)
		return v, math.NaN(), nil
	}
	m := uncertainRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("not a value(uncertainty) number")
	}
	scale := 1.0
	if m[3] != "" {
		e, _ := strconv.Atoi(m[3][1:])
		scale = math.Pow(10, float64(e))
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, 0, err
	}
	unc = math.NaN()
	switch m[2] {
	case "":
	case "inf":
		unc = math.Inf(1)
	default:
		d, _ := strconv.ParseFloat(m[2], 64)
		decimals := 0
		if i := strings.IndexByte(m[1], '.'); i >= 0 {
			decimals = len(m[1]) - i - 1
		}
		unc = d * math.Pow(10, -float64(decimals)) * scale
	}
	return v * scale, unc, nil
}
