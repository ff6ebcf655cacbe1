package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// setMaxPages caps the database at n pages on the writer's connection, which is how a
// full disk looks to SQLite: writes that need a new page fail with SQLITE_FULL.
func setMaxPages(t *testing.T, s *Store, n int64) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx *Tx) error {
		_, err := tx.tx.ExecContext(tx.ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n))
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func pageCount(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.read.QueryRow("PRAGMA page_count").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// While the disk is full, writes fail and the store says it is not usable; the first
// commit after space comes back says it is again. Empty commits, which succeed even on
// a full disk, do not count.
func TestPingFailsWhileWritesFail(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	setMaxPages(t, s, pageCount(t, s))
	big := strings.Repeat("x", 64<<10)
	var failed error
	for i := range 100 {
		failed = s.Update(ctx, func(tx *Tx) error {
			_, err := tx.Enqueue(NewNotification{Receiver: "ops", Route: "r", Hostgroup: "hg", Status: "firing",
				AlertNames: []string{"A"}, AlertCount: 1}, []byte(big), t0.Add(time.Duration(i)))
			return err
		})
		if failed != nil {
			break
		}
	}
	if failed == nil || !strings.Contains(failed.Error(), "full") {
		t.Fatalf("writes on a full database: %v", failed)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "writes are failing") {
		t.Fatalf("Ping on a full database: %v", err)
	}
	// Pruning nothing commits nothing: no proof that writes work again.
	if _, _, err := s.Prune(ctx, t0.Add(-time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("an empty commit made the store look usable")
	}
	setMaxPages(t, s, 1<<30)
	enqueue(t, s, "ops", t0)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after a successful commit: %v", err)
	}
}

// After a burst the WAL is truncated back to walSizeLimit once it is checkpointed,
// instead of keeping its largest size for good.
func TestWALShrinksAfterCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	big := []byte(strings.Repeat("y", 1<<20))
	// One transaction larger than the limit: the WAL must hold all of it until the commit.
	mib := walSizeLimit>>20 + 16
	if err := s.Update(ctx, func(tx *Tx) error {
		for i := range mib {
			if _, err := tx.Enqueue(NewNotification{Receiver: "ops", Route: "r", Hostgroup: "hg", Status: "firing",
				AlertNames: []string{"A"}, AlertCount: 1}, big, t0.Add(time.Duration(i))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wal := s.where + "-wal"
	size := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if size() <= walSizeLimit {
		t.Fatalf("WAL is %d bytes after a %d MiB transaction: the test proves nothing", size(), mib)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() > walSizeLimit {
		if time.Now().After(deadline) {
			t.Fatalf("WAL still %d bytes, want at most %d once checkpointed", size(), walSizeLimit)
		}
		enqueue(t, s, "ops", t0) // the WAL is reset (and truncated) by the next write after a checkpoint
		time.Sleep(50 * time.Millisecond)
	}
}

// Under steady writes and reads (the dispatcher reads many times a second), the WAL still
// starts over and stays bounded: without the writer's restarts it grew by everything
// written (restartWAL).
func TestWALStaysBoundedUnderReads(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 3 times restartFrames through the WAL")
	}
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Readers, so many that one is nearly always reading.
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for ctx.Err() == nil {
				if _, err := s.Due(ctx, "ops", t0, 64); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Writes from several goroutines, so that the writer always has a batch waiting.
	body := []byte(strings.Repeat("z", 64<<10))
	total := int64(3 * restartFrames * 4096)
	var written, largest atomic.Int64
	var writers sync.WaitGroup
	for range 8 {
		writers.Go(func() {
			for written.Add(int64(len(body))) < total {
				if err := s.Update(ctx, func(tx *Tx) error {
					_, err := tx.Enqueue(NewNotification{Receiver: "ops", Route: "r", Hostgroup: "hg", Status: "firing"}, body, t0)
					return err
				}); err != nil {
					t.Error(err)
					return
				}
				if fi, err := os.Stat(s.where + "-wal"); err == nil {
					for size := fi.Size(); size > largest.Load(); {
						if largest.CompareAndSwap(largest.Load(), size) {
							break
						}
					}
				}
			}
		})
	}
	writers.Wait()
	cancel()
	readers.Wait()
	// The WAL restarts at restartFrames; the writer sees that only at its next batch, so
	// the commits meanwhile take it past.
	if limit := int64(2 * restartFrames * 4096); largest.Load() > limit {
		t.Fatalf("the WAL reached %d bytes with %d written, want at most %d", largest.Load(), total, limit)
	}
}
