// Package nist reads the NIST StRD nonlinear regression problems (the .dat
// files in fit/testdata/nist) for the fit tests and comparebumps: the
// models in expr syntax, the data, both certified starts and the
// certified values, and the log relative error they are scored with.
package nist

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Models are the NIST StRD nonlinear regression models, transcribed from
// each file's "Model:" section into expr syntax. Nelson's has two
// predictors, x1 and x2, and is fitted to log(y).
var Models = map[string]string{
	"Bennett5": "b1 * (b2+x)^(-1/b3)",
	"BoxBOD":   "b1*(1-exp(-b2*x))",
	"Chwirut1": "exp(-b1*x)/(b2+b3*x)",
	"Chwirut2": "exp(-b1*x)/(b2+b3*x)",
	"DanWood":  "b1*x^b2",
	"ENSO": "b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4)" +
		" + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7)",
	"Eckerle4": "(b1/b2) * exp(-0.5*((x-b3)/b2)^2)",
	"Gauss1":   "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
	"Gauss2":   "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
	"Gauss3":   "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
	"Hahn1":    "(b1+b2*x+b3*x^2+b4*x^3) / (1+b5*x+b6*x^2+b7*x^3)",
	"Kirby2":   "(b1 + b2*x + b3*x^2) / (1 + b4*x + b5*x^2)",
	"Lanczos1": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
	"Lanczos2": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
	"Lanczos3": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
	"MGH09":    "b1*(x^2+x*b2) / (x^2+x*b3+b4)",
	"MGH10":    "b1 * exp(b2/(x+b3))",
	"MGH17":    "b1 + b2*exp(-x*b4) + b3*exp(-x*b5)",
	"Misra1a":  "b1*(1-exp(-b2*x))",
	"Misra1b":  "b1 * (1-(1+b2*x/2)^(-2))",
	"Misra1c":  "b1 * (1-(1+2*b2*x)^(-.5))",
	"Misra1d":  "b1*b2*x*((1+b2*x)^(-1))",
	"Nelson":   "b1 - b2*x1 * exp(-b3*x2)", // fitted to log(y)
	"Rat42":    "b1 / (1+exp(b2-b3*x))",
	"Rat43":    "b1 / ((1+exp(b2-b3*x))^(1/b4))",
	"Roszman1": "b1 - b2*x - atan(b3/(x-b4))/pi",
	"Thurber":  "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)",
}

// Names are the 27 problems, in the order the fit tests run them.
var Names = []string{
	"Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b",
	"Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c", "Misra1d",
	"Roszman1", "ENSO", "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5",
}

// Problem is one StRD file: data, certified starts and values.
type Problem struct {
	Name  string
	Model string // Models[Name]
	Y     []float64
	// X is the predictor of a single-predictor problem; Vars holds the
	// predictors by name (x1, x2) otherwise, when X is nil.
	X    []float64
	Vars map[string][]float64
	// Starts are the two certified starting points, Starts[0] the far one.
	Starts       [2][]float64
	Cert, CertSD []float64 // certified values and standard deviations
	RSS, ResSD   float64   // certified residual sum of squares and residual standard deviation
}

var (
	dataHeader = regexp.MustCompile(`^Data:\s+y\s`)
	paramLine  = regexp.MustCompile(`^\s*b(\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$`)
)

// Load reads dir/name.dat.
func Load(dir, name string) (*Problem, error) {
	model, ok := Models[name]
	if !ok {
		return nil, fmt.Errorf("%s: not a NIST StRD nonlinear regression problem", name)
	}
	f, err := os.Open(filepath.Join(dir, name+".dat"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &Problem{Name: name, Model: model}
	var perr error
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("%s: %v", name, err)
		}
		return v
	}
	var cols [][]float64 // y, then the predictors, as the header names them
	var colNames []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case colNames != nil:
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			if len(fields) != len(colNames) {
				return nil, fmt.Errorf("%s: data line %q: want %d columns", name, line, len(colNames))
			}
			for j, s := range fields {
				cols[j] = append(cols[j], num(s))
			}
		case dataHeader.MatchString(line):
			colNames = strings.Fields(line)[1:]
			cols = make([][]float64, len(colNames))
		case paramLine.MatchString(line):
			m := paramLine.FindStringSubmatch(line)
			p.Starts[0] = append(p.Starts[0], num(m[2]))
			p.Starts[1] = append(p.Starts[1], num(m[3]))
			p.Cert = append(p.Cert, num(m[4]))
			p.CertSD = append(p.CertSD, num(m[5]))
		case strings.HasPrefix(line, "Residual Sum of Squares:"):
			p.RSS = num(strings.Fields(line)[4])
		case strings.HasPrefix(line, "Residual Standard Deviation:"):
			p.ResSD = num(strings.Fields(line)[3])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if len(p.Cert) == 0 || p.RSS == 0 || len(cols) < 2 || len(cols[0]) == 0 {
		return nil, fmt.Errorf("%s: could not parse the file", name)
	}
	p.Y = cols[0]
	if len(cols) == 2 && colNames[1] == "x" {
		p.X = cols[1]
	} else {
		p.Vars = map[string][]float64{}
		for j, n := range colNames[1:] {
			p.Vars[n] = cols[j+1]
		}
	}
	return p, nil
}

// LRE is the log relative error of est against the reference cert: the
// number of agreeing significant digits, from 0 to 16.
func LRE(est, cert float64) float64 {
	if est == cert {
		return 16
	}
	if math.IsNaN(est) || math.IsNaN(cert) || math.IsInf(est, 0) {
		return 0
	}
	return max(0, min(16, -math.Log10(math.Abs(est-cert)/math.Abs(cert))))
}

// MinLRE is LRE minimised over the parameters; NaN when either side is
// missing.
func MinLRE(est, cert []float64) float64 {
	if len(est) == 0 || len(est) != len(cert) {
		return math.NaN()
	}
	d := 16.0
	for k := range est {
		d = min(d, LRE(est[k], cert[k]))
	}
	return d
}
