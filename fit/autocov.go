package fit

import (
	"math/bits"

	"gonum.org/v1/gonum/dsp/fourier"
)

// lagSums holds chains centred on their means and their biased
// autocovariances at the lags summed so far, directly: n multiply-adds a
// lag and chain. For chains that mix well Geyer's sequence ends within a
// few dozen lags, and those sums cost a fraction of one FFT of every lag.
type lagSums struct {
	centred [][]float64
	acov    [][]float64 // acov[c][t] for the lags t summed so far
}

func newLagSums(chains [][]float64) *lagSums {
	l := &lagSums{centred: make([][]float64, len(chains)), acov: make([][]float64, len(chains))}
	for c, s := range chains {
		l.centred[c] = make([]float64, len(s))
		centreInto(l.centred[c], s)
	}
	return l
}

// centreInto writes x less its mean into dst[:len(x)].
func centreInto(dst, x []float64) {
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for i, v := range x {
		dst[i] = v - mean
	}
}

// extend sums the lags up to lags-1 not summed yet, four lags in one
// pass over a chain (one load of d[i] serves four products); each lag's
// sum still adds its products in order of i.
func (l *lagSums) extend(lags int) {
	for c, d := range l.centred {
		n := len(d)
		for t := len(l.acov[c]); t < lags; {
			if t+4 > lags || t+3 >= n {
				l.acov[c] = append(l.acov[c], lagSum(d, t, 0, 0)/float64(n))
				t++
				continue
			}
			var s0, s1, s2, s3 float64
			end := n - t - 3 // every i < end has all four partners
			for i, v := range d[:end] {
				s0 += v * d[i+t]
				s1 += v * d[i+t+1]
				s2 += v * d[i+t+2]
				s3 += v * d[i+t+3]
			}
			l.acov[c] = append(l.acov[c], lagSum(d, t, end, s0)/float64(n), lagSum(d, t+1, end, s1)/float64(n),
				lagSum(d, t+2, end, s2)/float64(n), lagSum(d, t+3, end, s3)/float64(n))
			t += 4
		}
	}
}

// lagSum adds to sum the products d[i]·d[i+t] for i from start on.
func lagSum(d []float64, t, start int, sum float64) float64 {
	for i := start; i+t < len(d); i++ {
		sum += d[i] * d[i+t]
	}
	return sum
}

// directLagLimit is how many lags of chains of n draws are worth summing
// directly before an FFT of every lag is the cheaper way. Measured
// (BenchmarkESS), one FFT of the chains costs about as much as
// 20·log₂(FFT size) lags summed directly; stopping at 8·log₂ bounds what
// chains that need the FFT after all waste to under half its cost.
func directLagLimit(n int) int {
	return min(n, 8*bits.Len(uint(paddedSize(n))))
}

// paddedFFT computes autocovariances of series of one length n through
// an FFT of twice that length (rounded up to a power of two), so that the
// circular correlation equals the linear one; its twiddle factors are
// computed once for all chains.
type paddedFFT struct {
	n, size int
	fft     *fourier.FFT
	padded  []float64
	coef    []complex128
	seq     []float64
}

// paddedSize is the FFT length for series of n: at least 2n, a power of two.
func paddedSize(n int) int {
	size := 1
	for size < 2*n {
		size <<= 1
	}
	return size
}

func newPaddedFFT(n int) *paddedFFT {
	size := paddedSize(n)
	return &paddedFFT{n: n, size: size, fft: fourier.NewFFT(size), padded: make([]float64, size), seq: make([]float64, size)}
}

// autocovariance returns the biased autocovariance of x at every lag.
func (f *paddedFFT) autocovariance(x []float64) []float64 {
	clear(f.padded)
	centreInto(f.padded, x)
	f.coef = f.fft.Coefficients(f.coef, f.padded)
	for i, c := range f.coef {
		f.coef[i] = complex(real(c)*real(c)+imag(c)*imag(c), 0)
	}
	f.seq = f.fft.Sequence(f.seq, f.coef)
	out := make([]float64, f.n)
	for t := range out {
		out[t] = f.seq[t] / float64(f.size) / float64(f.n)
	}
	return out
}
