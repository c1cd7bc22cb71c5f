package fit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCheckpoint measures what checkpoints cost a DREAM fit of
// Misra1a with 300,000 samples (the budget): the fit with a
// checkpoint every second, written atomically (temporary file, rename)
// as the service writes it, against the same fit without, in one run.
// It reports the time per checkpoint at the end state (the largest), and
// from it the overhead at the default interval: time per checkpoint over
// DefaultCheckpointSeconds, an upper bound since earlier ones are smaller.
func BenchmarkCheckpoint(b *testing.B) {
	p := loadNIST(b, "Misra1a")
	spec, err := ParseSpec([]byte(p.specJSON("dream", p.start2, `"options": {"seed": 7, "samples": 300000, "checkpoint_seconds": 1},`)))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var saves int
	var saveTime time.Duration
	var last []byte
	write := func(c Checkpoint) error {
		t0 := time.Now()
		tmp := filepath.Join(dir, "checkpoint.fit.tmp")
		if err := os.WriteFile(tmp, c.Data, 0o600); err != nil {
			return err
		}
		err := os.Rename(tmp, filepath.Join(dir, "checkpoint.fit"))
		saves++
		saveTime += time.Since(t0)
		last = c.Data
		return err
	}
	var plain, with time.Duration
	for range b.N {
		t0 := time.Now()
		if _, err := Run(context.Background(), spec, Options{CPUs: 1}); err != nil {
			b.Fatal(err)
		}
		plain += time.Since(t0)
		t0 = time.Now()
		if _, err := Run(context.Background(), spec, Options{CPUs: 1, Checkpoint: write}); err != nil {
			b.Fatal(err)
		}
		with += time.Since(t0)
	}
	// The end state's encoding alone, as a checkpoint due at the end of a
	// long run costs.
	var st dreamSaved
	_, body, _ := splitCheckpoint(last)
	decodeState(body, &st)
	t0 := time.Now()
	const reps = 5
	for range reps {
		data, _ := encodeCheckpoint(checkpointHeader{Version: checkpointVersion, Engine: Engine}, &st)
		write(Checkpoint{Data: data})
	}
	per := time.Since(t0) / reps
	b.ReportMetric(plain.Seconds()/float64(b.N), "s/fit")
	b.ReportMetric(with.Seconds()/float64(b.N), "s/fit-ckpt-1s")
	b.ReportMetric(100*(with.Seconds()-plain.Seconds())/plain.Seconds(), "%overhead-1s+final")
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/checkpoint")
	b.ReportMetric(float64(len(last))/1e6, "MB/checkpoint")
	b.ReportMetric(100*per.Seconds()/DefaultCheckpointSeconds, "%overhead-60s")
}
