package fit

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// BenchmarkDREAM reports posterior draws per second and effective draws
// per second (the smallest bulk ESS over the parameters, divided by the
// wall time) on a small (Misra1a, 14 points, 2 parameters) and a larger
// (Thurber, 37 points, 7 rational parameters) problem.
func BenchmarkDREAM(b *testing.B) {
	for _, name := range []string{"Misra1a", "Thurber"} {
		for _, cpus := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/cpus=%d", name, cpus), func(b *testing.B) {
				p := loadNIST(b, name)
				const samples = 20000
				spec, err := ParseSpec([]byte(p.specJSON("dream", p.cert, fmt.Sprintf(`"options": {"samples": %d, "burn": 100, "cpus": %d},`, samples, cpus))))
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				ess := 0.0
				for range b.N {
					res, err := Run(context.Background(), spec, Options{CPUs: cpus})
					if err != nil {
						b.Fatal(err)
					}
					ess += minESS(res)
				}
				b.ReportMetric(float64(samples*b.N)/b.Elapsed().Seconds(), "samples/s")
				b.ReportMetric(ess/b.Elapsed().Seconds(), "ess/s")
			})
		}
	}
}

// BenchmarkLM times one Levenberg–Marquardt fit of each NIST problem from
// its first (harder) start.
func BenchmarkLM(b *testing.B) {
	for _, name := range nistNames {
		b.Run(name, func(b *testing.B) {
			p := loadNIST(b, name)
			spec, err := ParseSpec([]byte(p.specJSON("lm", p.start1, "")))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := Run(context.Background(), spec, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// minESS is the smallest bulk ESS over a result's free parameters.
func minESS(res *Result) float64 {
	least := math.Inf(1)
	for _, pr := range res.Parameters {
		if pr.ESS != nil {
			least = min(least, float64(*pr.ESS))
		}
	}
	return least
}
