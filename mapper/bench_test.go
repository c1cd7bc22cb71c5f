package mapper

import (
	"context"
	"math"
	"testing"
	"time"
)

// work spins for about d, standing in for a model evaluation of that cost.
func work(d time.Duration) float64 {
	s := 0.0
	for start := time.Now(); time.Since(start) < d; {
		for k := range 200 {
			s += math.Sqrt(float64(k))
		}
	}
	return s
}

// BenchmarkSpeedup maps a population of 40 points costing about 100 µs each
// with 1 and with 2 CPUs and reports the ratio of the times as "speedup".
func BenchmarkSpeedup(b *testing.B) {
	const points = 40
	out := make([]float64, points)
	f := func(_, i int) { out[i] = work(100 * time.Microsecond) }
	timeIt := func(m Mapper) time.Duration {
		defer m.Close()
		start := time.Now()
		for range b.N {
			if err := m.Map(context.Background(), points, f); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	t1 := timeIt(New(1))
	t2 := timeIt(New(2))
	b.ReportMetric(float64(t1)/float64(t2), "speedup")
	b.ReportMetric(float64(t2.Nanoseconds())/float64(b.N*points), "ns/point@2cpu")
}
