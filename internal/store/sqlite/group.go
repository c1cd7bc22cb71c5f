package sqlite

import (
	"context"
	"fmt"
	"runtime"
)

// Group commit: every write goes through one goroutine that takes all the
// writes waiting at that moment (up to maxBatch) and runs them in a single
// transaction, each inside its own savepoint. A write that fails rolls
// back only itself; the others commit together, so under load many
// transitions share one commit (and, with synchronous=FULL, one fsync)
// while each stays atomic.

const maxBatch = 128

// maxYields bounds how often the writer yields to fill one batch.
const maxYields = 1

type writeOp struct {
	ctx  context.Context
	fn   func(*wtx) error
	done chan error
}

// tx runs fn atomically in a write transaction shared with other writes.
func (s *Store) tx(ctx context.Context, fn func(*wtx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return fmt.Errorf("store closed")
	}
	// Once queued the op will run; wait for it even if ctx ends, so the
	// caller never returns while its fn may still be running.
	err := <-op.done
	if err != nil && s.onWriteError != nil {
		s.onWriteError(err)
	}
	return err
}

// writer runs batches until the store is closed.
func (s *Store) writer() {
	defer close(s.writerDone)
	for {
		var first *writeOp
		select {
		case first = <-s.writes:
		case <-s.closed:
			return
		}
		batch := s.fill([]*writeOp{first})
		// Let the writes about to be sent (a slot finishing, a submission
		// decoded) join this commit: a yield costs far less than a commit
		// of their own. Yield again only while yielding brings some.
		for range maxYields {
			n := len(batch)
			if n >= maxBatch {
				break
			}
			runtime.Gosched()
			if batch = s.fill(batch); len(batch) == n {
				break
			}
		}
		s.runBatch(batch)
		s.commits.Add(1)
		s.writesDone.Add(int64(len(batch)))
		s.wrote()
	}
}

// WriteStats returns how many write batches (commits) the writer has run
// and how many writes they held: their ratio says how well group commit
// shares commits under the load at hand.
func (s *Store) WriteStats() (commits, writes int64) {
	return s.commits.Load(), s.writesDone.Load()
}

// fill adds the writes waiting now to batch, up to maxBatch.
func (s *Store) fill(batch []*writeOp) []*writeOp {
	for len(batch) < maxBatch {
		select {
		case op := <-s.writes:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

func (s *Store) runBatch(batch []*writeOp) {
	fail := func(err error) {
		for _, op := range batch {
			op.done <- err
		}
	}
	defer s.wstmts.prepareWanted() // the connection is free again then
	sqlTx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	tx := &wtx{Tx: sqlTx, stmts: &s.wstmts}
	results := make([]error, len(batch))
	if len(batch) == 1 {
		// Nothing to isolate it from: skip the savepoint.
		results[0] = runOp(tx, batch[0])
		if results[0] != nil {
			tx.Rollback()
			batch[0].done <- results[0]
			return
		}
	} else {
		for i, op := range batch {
			results[i] = s.runIsolated(tx, op)
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, op := range batch {
		op.done <- results[i]
	}
}

// runIsolated runs one write of a batch inside a savepoint.
func (s *Store) runIsolated(tx *wtx, op *writeOp) error {
	// Through the prepared statements: these run for every write.
	bg := context.Background()
	if _, err := tx.ExecContext(bg, `SAVEPOINT op`); err != nil {
		return err
	}
	err := runOp(tx, op)
	if err != nil {
		tx.ExecContext(bg, `ROLLBACK TO op`)
	}
	tx.ExecContext(bg, `RELEASE op`)
	return err
}

// runOp calls the op's fn with the batch transaction; a panic in fn must
// not take the writer down with it.
func runOp(tx *wtx, op *writeOp) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store write panicked: %v", r)
		}
	}()
	if err := op.ctx.Err(); err != nil {
		return err
	}
	return op.fn(tx)
}
