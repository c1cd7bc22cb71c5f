package fit

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// covariance returns (J^T J)^-1 for the Jacobian given by columns, the
// covariance of the free parameters when the residuals are weighted by
// their uncertainties. It goes through the SVD of the column-scaled
// Jacobian rather than inverting J^T J, which would square the condition
// number. Directions the data do not determine (singular values below
// rounding) get infinite variance instead of a meaningless huge number.
func covariance(cols [][]float64) [][]float64 {
	n := len(cols)
	cov := make([][]float64, n)
	for j := range cov {
		cov[j] = make([]float64, n)
	}
	if n == 0 {
		return cov
	}
	m := len(cols[0])
	d := make([]float64, n)
	js := mat.NewDense(m, n, nil)
	for j, c := range cols {
		d[j] = norm(c)
		if d[j] == 0 || math.IsInf(d[j], 0) {
			d[j] = 1
		}
		for i, v := range c {
			js.Set(i, j, v/d[j])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(js, mat.SVDThin) {
		return infCov(cov)
	}
	s := svd.Values(nil)
	var v mat.Dense
	svd.VTo(&v)
	tol := s[0] * float64(max(m, n)) * 0x1p-52
	for j := range n {
		for l := range n {
			sum := 0.0
			for k, sk := range s {
				if sk <= tol {
					if v.At(j, k) != 0 && v.At(l, k) != 0 {
						sum = math.Inf(1)
						break
					}
					continue
				}
				sum += v.At(j, k) * v.At(l, k) / (sk * sk)
			}
			cov[j][l] = sum / (d[j] * d[l])
		}
	}
	return cov
}

func infCov(cov [][]float64) [][]float64 {
	for j := range cov {
		for l := range cov[j] {
			cov[j][l] = math.Inf(1)
		}
	}
	return cov
}

// correlation turns a covariance into a correlation matrix; undefined
// entries become NaN (null in JSON).
func correlation(cov [][]float64) [][]float64 {
	n := len(cov)
	c := make([][]float64, n)
	for j := range c {
		c[j] = make([]float64, n)
		for l := range c[j] {
			den := math.Sqrt(cov[j][j] * cov[l][l])
			c[j][l] = cov[j][l] / den
			if math.IsInf(den, 0) || den == 0 {
				c[j][l] = math.NaN()
			}
		}
	}
	return c
}
