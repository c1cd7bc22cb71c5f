package mapper

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
)

// conformance is the one behaviour test every Mapper must pass.
func conformance(t *testing.T, newMapper func() Mapper) {
	t.Run("EveryIndexOnce", func(t *testing.T) {
		t.Parallel()
		m := newMapper()
		defer m.Close()
		for _, n := range []int{0, 1, 2, 3, 17, 1000} {
			counts := make([]atomic.Int32, n)
			err := m.Map(context.Background(), n, func(w, i int) {
				if w < 0 || w >= m.CPUs() {
					t.Errorf("worker %d out of range [0,%d)", w, m.CPUs())
				}
				counts[i].Add(1)
			})
			if err != nil {
				t.Fatalf("map %d: %v", n, err)
			}
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("n=%d: index %d evaluated %d times", n, i, c)
				}
			}
		}
	})
	t.Run("SameAsSerial", func(t *testing.T) {
		t.Parallel()
		m := newMapper()
		defer m.Close()
		const n = 257
		got, want := make([]float64, n), make([]float64, n)
		f := func(out []float64) func(w, i int) {
			return func(_, i int) { out[i] = math.Sin(float64(i)) * math.Exp(float64(i%7)) }
		}
		if err := m.Map(context.Background(), n, f(got)); err != nil {
			t.Fatal(err)
		}
		_ = Serial{}.Map(context.Background(), n, f(want))
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("out[%d] = %v, serial gives %v", i, got[i], want[i])
			}
		}
	})
	t.Run("WorkerScratchIsExclusive", func(t *testing.T) {
		t.Parallel()
		m := newMapper()
		defer m.Close()
		busy := make([]atomic.Int32, m.CPUs())
		err := m.Map(context.Background(), 500, func(w, _ int) {
			if busy[w].Add(1) != 1 {
				t.Errorf("worker %d used by two calls at once", w)
			}
			s := 0.0
			for k := range 1000 {
				s += math.Sqrt(float64(k))
			}
			_ = s
			busy[w].Add(-1)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		m := newMapper()
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		var calls atomic.Int32
		err := m.Map(ctx, 10000, func(_, i int) {
			if calls.Add(1) == 5 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if c := calls.Load(); c >= 10000 {
			t.Fatalf("all %d points evaluated after cancel", c)
		}
	})
}

func TestSerial(t *testing.T) {
	t.Parallel()
	conformance(t, func() Mapper { return New(1) })
}

func TestPool(t *testing.T) {
	t.Parallel()
	for _, cpus := range []int{2, 3, 8} {
		conformance(t, func() Mapper { return New(cpus) })
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want int }{{-1, 1}, {0, 1}, {1, 1}, {2, 2}, {5, 5}} {
		m := New(c.in)
		if got := m.CPUs(); got != c.want {
			t.Errorf("New(%d).CPUs() = %d, want %d", c.in, got, c.want)
		}
		m.Close()
	}
}

// A panic in f, on the caller's goroutine or a helper's, comes back to
// Map's caller, where it can be recovered, and the pool stays usable.
func TestPoolPanicReachesCaller(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	callerPanics := make(chan struct{})
	onCaller := func(w, i int) {
		if w != 0 { // hold the helpers until the caller's goroutine has panicked
			<-callerPanics
			return
		}
		select {
		case <-callerPanics:
		default:
			close(callerPanics)
		}
		panic("boom")
	}
	helperPanics := make(chan struct{})
	onHelper := func(w, i int) {
		if w == 0 { // hold the caller's goroutine until a helper has panicked
			<-helperPanics
			return
		}
		select {
		case <-helperPanics:
		default:
			close(helperPanics)
		}
		panic("boom")
	}
	for name, f := range map[string]func(int, int){"caller": onCaller, "helper": onHelper} {
		got := func() (v any) {
			defer func() { v = recover() }()
			p.Map(context.Background(), 100, f)
			return nil
		}()
		wp, ok := got.(*WorkerPanic)
		if !ok || wp.Value != "boom" || len(wp.Stack) == 0 {
			t.Fatalf("%s: recovered %#v", name, got)
		}
	}
	var calls atomic.Int64
	if err := p.Map(context.Background(), 50, func(_, _ int) { calls.Add(1) }); err != nil || calls.Load() != 50 {
		t.Fatalf("after panics: %d calls, %v", calls.Load(), err)
	}
}
