package fit

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkDREAM reports posterior draws per second on a small (Misra1a,
// 14 points, 2 parameters) and a larger (Thurber, 37 points, 7 rational
// parameters) problem.
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
				for range b.N {
					if _, err := Run(context.Background(), spec, Options{CPUs: cpus}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(samples*b.N)/b.Elapsed().Seconds(), "samples/s")
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
