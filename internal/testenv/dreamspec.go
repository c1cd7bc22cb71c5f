package testenv

import (
	"encoding/json"
	"math"
	"math/rand/v2"
)

// SeededDREAMSpec is a native DREAM fit (service fit) of 1500 noisy
// points of a decaying exponential, seeded, that runs for seconds and
// checkpoints every ckptSeconds: the long fit the checkpoint tests kill
// and resume, and compare with a run never interrupted.
func SeededDREAMSpec(samples, burn, ckptSeconds int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1500
	x, y, dy := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i) * 0.01
		y[i] = 3*math.Exp(-0.7*x[i]) + 0.5 + 0.05*rng.NormFloat64()
		dy[i] = 0.05
	}
	b, err := json.Marshal(map[string]any{
		"fitter":  "dream",
		"options": map[string]any{"seed": 42, "samples": samples, "burn": burn, "checkpoint_seconds": ckptSeconds},
		"parameters": map[string]any{
			"a": map[string]float64{"value": 2, "min": 0, "max": 10},
			"k": map[string]float64{"value": 0.5, "min": 0, "max": 5},
			"c": map[string]float64{"value": 0, "min": -5, "max": 5},
		},
		"datasets": []any{map[string]any{"model": "a*exp(-k*x)+c", "x": x, "y": y, "dy": dy}},
	})
	if err != nil {
		panic(err) // plain numbers and strings always marshal
	}
	return b
}
