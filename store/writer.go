package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// maxBatch bounds how many write operations share one transaction.
const maxBatch = 128

// ErrClosed is returned by writes to a closed store.
var ErrClosed = errors.New("store is closed")

// writeOp is one Update waiting for the writer.
type writeOp struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

// updateSQLite is Update on SQLite. ctx decides only whether fn starts: once it runs,
// fn's statements are not interrupted, because interrupting a statement can roll back the
// whole shared transaction.
//
// Writes are group-committed: one writer goroutine takes every operation that is waiting,
// runs each inside its own SAVEPOINT of a single transaction, and commits once. An
// operation that fails is rolled back to its savepoint without touching the others.
// Operations of one batch run in order, so each sees the writes of those before it, as
// if they had committed one by one. Under load this turns hundreds of commits (each a
// WAL write) into a few.
func (s *Store) updateSQLite(ctx context.Context, fn func(*Tx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.ops <- op:
	case <-s.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the caller must know whether
	// its writes were committed.
	return <-op.done
}

// writer owns the write connection for as long as the store is open.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		var first *writeOp
		select {
		case first = <-s.ops:
		case <-s.closing:
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		if s.restartWanted.Swap(false) {
			s.restartWAL(batch)
			continue
		}
		s.runBatch(batch)
	}
}

// restartWAL runs batch so that its commit starts the WAL over from its beginning.
//
// SQLite restarts the WAL (and truncates it to walSizeLimit at the next checkpoint) only
// when a write transaction begins with every frame copied into the database and commits
// while no reader uses the WAL. Under steady load that moment never comes by itself: the
// checkpointer copies what was there when it started while the writer appends more, and
// the dispatcher's reads come many times a second; the WAL grew by gigabytes, or, when it
// passed wal_autocheckpoint, every commit checkpointed and fsynced on its own (80-140 ms
// commits). So the writer makes the moment: it holds new reads off (readers wait on
// s.gate), copies the few frames the checkpointer has not, and commits.
func (s *Store) restartWAL(batch []*writeOp) {
	s.gate.Lock()
	defer s.gate.Unlock()
	// Errors leave the WAL as it was; the next checkpoint asks again.
	_, _ = s.write.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	s.runBatch(batch)
}

func (s *Store) runBatch(batch []*writeOp) {
	ctx := context.Background() // each op's own ctx governs only whether it starts
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		err = fmt.Errorf("begin: %w", err)
		s.noteBatch(nil, err, false)
		finish(batch, nil, err)
		return
	}
	t := &Tx{tx: tx, stmts: &s.stmts, ctx: ctx}
	before := t.totalChanges()
	results := make([]error, len(batch))
	single := len(batch) == 1
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		var aborted error
		results[i], aborted = runOp(t, op, single)
		if aborted != nil {
			// SQLite rolled back the whole transaction (disk full, I/O error): what ran
			// before is gone, and anything run now would commit on its own. Fail all.
			_ = tx.Rollback()
			s.noteBatch(results, aborted, false)
			finish(batch, results, aborted)
			return
		}
	}
	if single && results[0] != nil {
		// Without savepoints the failed op's writes are in the transaction itself.
		_ = tx.Rollback()
		s.noteBatch(results, nil, false)
		finish(batch, results, nil)
		return
	}
	after := t.totalChanges()
	changed := before < 0 || after != before
	var commitErr error
	if err := tx.Commit(); err != nil {
		commitErr = fmt.Errorf("commit: %w", err)
	}
	s.noteBatch(results, commitErr, changed)
	finish(batch, results, commitErr)
}

// totalChanges counts the rows changed on the write connection since it opened; -1 when
// it cannot tell.
func (t *Tx) totalChanges() int64 {
	var n int64 = -1
	_ = t.tx.QueryRowContext(t.ctx, "SELECT total_changes()").Scan(&n)
	return n
}

// finish answers every op with its own error, or else with shared: the batch's fate
// (nil when it committed).
func finish(batch []*writeOp, results []error, shared error) {
	for i, op := range batch {
		err := shared
		if results != nil && results[i] != nil {
			err = results[i]
		}
		op.done <- err
	}
}

// runOp runs one operation; in a batch of several, inside a savepoint so that its failure
// undoes only its own writes. aborted is set when the savepoint cannot be rolled back or
// released: the transaction itself is gone.
func runOp(t *Tx, op *writeOp, single bool) (err, aborted error) {
	if single {
		return op.fn(t), nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "SAVEPOINT op"); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	if err := op.fn(t); err != nil {
		if _, rbErr := t.tx.ExecContext(t.ctx, "ROLLBACK TO op"); rbErr != nil {
			return err, fmt.Errorf("transaction aborted: %w", errors.Join(err, rbErr))
		}
		if _, relErr := t.tx.ExecContext(t.ctx, "RELEASE op"); relErr != nil {
			return err, fmt.Errorf("transaction aborted: %w", relErr)
		}
		return err, nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "RELEASE op"); err != nil {
		return nil, fmt.Errorf("transaction aborted: release savepoint: %w", err)
	}
	return nil, nil
}

// Checkpoint tuning, measured on a 2-core VM at 5,000 alerts/s (half load) on a
// million-alert database. Copying the WAL back into the database (and its fsyncs) happens
// in the background, off the writer's commits. Once the WAL holds restartFrames (64 MiB,
// the journal_size_limit), the writer starts it over (restartWAL): without restarts the
// WAL grew by 80 MB/s. A restart waits for the frames the last copy left behind, so the
// copies come every fastInterval once the WAL is half way there, and every slowInterval
// before (copying less often copies a page that many commits changed once). Webhook p99:
// every 100 ms, restarting at 16 MiB, 54 ms; every 10 ms, 30 ms; every 5 ms, restarting
// at 64 MiB, 12-17 ms; 100 ms then 5 ms, 8-11 ms, and 3-13% more throughput at full
// speed. The writer checkpoints by itself only when the WAL passes safetyCheckpointPages
// (4 KiB each), in case the checkpointer stalls.
//
// A restart also waits for the fsync of the database file that SQLite makes before it lets
// the WAL be overwritten, and that fsync writes out every page the checkpointer copied
// since the last one: tens of megabytes, 10-66 ms. So in the last quarter of the WAL,
// each time the checkpointer has copied writebackFrames more, it starts the kernel writing
// those pages out (startWriteback), and the restart finds little left to write. On a
// database of 4.2 million alerts at half load, 20 s runs in turns with the release before:
// p99 7.5-24.8 ms, median 13.0 (26 runs, 4 over 20) -> 7.5-11.1, median 8.6 (12 runs, one
// at 19.6); restarts over 10 ms in 40 s 27-33 -> 1. From the WAL's middle the tail was the
// same, from its first frame no shorter; an fsync in place of the writeback, from the
// middle, cost 3-5% of the full-speed rate (a page copied several times reaches the disk
// each time), the writeback from the last quarter nothing measurable (6 turns: 14,900
// alerts/s against 14,800).
const (
	slowInterval          = 100 * time.Millisecond
	fastInterval          = 5 * time.Millisecond
	restartFrames         = 16384
	writebackFrames       = 256
	safetyCheckpointPages = 20000
)

// checkpointer runs passive checkpoints, which never block the writer or readers.
func (s *Store) checkpointer() {
	defer close(s.checkpointerDone)
	t := time.NewTimer(slowInterval)
	defer t.Stop()
	next := restartFrames // the WAL's size, in frames, that asks for a restart
	writtenBack := 0      // the frames of this WAL copied before the last writeback began
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		t.Reset(slowInterval)
		// Errors are transient (a busy database); the next tick tries again and the
		// writer's safety checkpoint bounds the WAL meanwhile.
		var busy, frames, copied int
		if err := s.checkpoint.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
			continue
		}
		if frames >= restartFrames/2 {
			t.Reset(fastInterval)
		}
		if copied < writtenBack { // the WAL started over
			writtenBack = 0
		}
		if frames >= restartFrames*3/4 && copied-writtenBack >= writebackFrames {
			// Only to make the restart's fsync short: SQLite's own syncs are still what
			// make the copies durable, so an error here changes nothing.
			_ = startWriteback(s.dbFile)
			writtenBack = copied
		}
		switch {
		case frames < restartFrames:
			next = restartFrames
		case frames >= next:
			s.restartWanted.Store(true)
			// A restart that cannot happen (a reader in another process, such as a
			// backup, holds the WAL) is tried again only after the WAL grew by a
			// quarter more, not at every tick.
			next = frames + restartFrames/4
		}
	}
}

// reading holds off restartWAL for the duration of a read: call it when a read starts,
// and what it returns when the read is done (its rows closed).
func (s *Store) reading() (done func()) {
	if s.pg != nil {
		return func() {}
	}
	s.gate.RLock()
	return s.gate.RUnlock
}
