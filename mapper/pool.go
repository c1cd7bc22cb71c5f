package mapper

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Pool evaluates points on a fixed set of long-lived goroutines. Keeping
// the goroutines alive across batches matters for fitters that map a small
// population thousands of times: starting goroutines per batch would cost
// more than short model evaluations.
type Pool struct {
	cpus  int
	jobs  []chan *batch
	close sync.Once
}

var _ Mapper = (*Pool)(nil)

// batch is one Map call shared by all workers; each worker takes the next
// index from next until the batch is exhausted.
type batch struct {
	ctx  context.Context
	n    int
	f    func(worker, i int)
	next atomic.Int64
	wg   sync.WaitGroup
	// panicked holds the first panic of a call f, raised again in Map's
	// caller: a panic on a helper goroutine could not be recovered by
	// anyone and would end the whole process.
	panicked atomic.Pointer[WorkerPanic]
}

// WorkerPanic is what Map panics with when a call f panicked on one of
// the pool's goroutines: the value and the stack where it happened.
type WorkerPanic struct {
	Value any
	Stack []byte
}

func (p *WorkerPanic) String() string {
	return fmt.Sprintf("%v (in a mapper worker)\n%s", p.Value, p.Stack)
}

// NewPool starts cpus worker goroutines (at least one).
func NewPool(cpus int) *Pool {
	cpus = max(cpus, 1)
	p := &Pool{cpus: cpus, jobs: make([]chan *batch, cpus)}
	// Worker 0 is the goroutine calling Map, so only cpus-1 are started.
	for w := 1; w < cpus; w++ {
		p.jobs[w] = make(chan *batch)
		go p.work(w)
	}
	return p
}

func (p *Pool) work(w int) {
	for b := range p.jobs[w] {
		b.run(w)
	}
}

func (b *batch) run(w int) {
	defer b.wg.Done()
	defer func() {
		if v := recover(); v != nil {
			b.panicked.CompareAndSwap(nil, &WorkerPanic{Value: v, Stack: debug.Stack()})
			b.next.Store(int64(b.n)) // the batch is lost: start no more calls
		}
	}()
	for {
		i := int(b.next.Add(1) - 1)
		if i >= b.n || b.ctx.Err() != nil {
			return
		}
		b.f(w, i)
	}
}

// Map implements Mapper. The calling goroutine works as worker 0 so that a
// batch never waits for a goroutine switch before starting. Map must not be
// called concurrently on one Pool.
func (p *Pool) Map(ctx context.Context, n int, f func(worker, i int)) error {
	if n <= 0 {
		return ctx.Err()
	}
	b := &batch{ctx: ctx, n: n, f: f}
	helpers := min(p.cpus, n) - 1
	b.wg.Add(helpers + 1)
	for w := 1; w <= helpers; w++ {
		p.jobs[w] <- b
	}
	b.run(0)
	b.wg.Wait()
	if p := b.panicked.Load(); p != nil {
		panic(p)
	}
	return ctx.Err()
}

// CPUs implements Mapper.
func (p *Pool) CPUs() int { return p.cpus }

// Close implements Mapper.
func (p *Pool) Close() {
	p.close.Do(func() {
		for _, c := range p.jobs[1:] {
			close(c)
		}
	})
}
